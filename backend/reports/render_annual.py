"""The annual programme report as a document (PDF story and XLSX workbook), and its verification lines."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from reportlab.platypus import Flowable, Spacer

from backend.documents import layout
from backend.documents.cells import local_time
from backend.documents.content import format_number, type_label
from backend.reports.annual import AnnualReport
from backend.reports.issued import StatementLine
from backend.reports.workbook import Book, Cell, append, fit, local

WORKLOAD = (("on_site_days", "在岗天数"), ("patients", "诊疗人次"), ("surgeries", "手术台次"),
            ("teaching_hours", "授课学时"), ("attendees", "受教人次"), ("people_served", "义诊服务人数"),
            ("new_techniques", "新技术新项目(项)"), ("trainees", "带教骨干(人)"))
RATING_LABELS = (("excellent", "优秀"), ("qualified", "合格"), ("unqualified", "不合格"))


def title_of(report: AnnualReport) -> str:
    return f"{report.year}年度帮扶工作报告"


def _value(value: int | bool) -> str:
    return ("是" if value else "否") if isinstance(value, bool) else str(value)


def _gap(report: AnnualReport) -> str:
    if not report.longest_gap_start:
        return "无"
    return f"{report.longest_gap_start} 至 {report.longest_gap_end}({report.longest_gap_days} 天)"


def _as_of(report: AnnualReport) -> str:
    return "全年" if report.complete else f"截至 {report.as_of}(年度未结束)"


def statement(report: AnnualReport, issued_at: datetime, tz: ZoneInfo) -> list[StatementLine]:
    pairs = [("文件", title_of(report)), ("协议", report.agreement_name), ("支援医院", report.supporting),
             ("受援医院", report.recipient), ("年度", str(report.year)), ("统计范围", _as_of(report)),
             ("派驻人员(人)", str(report.experts_stationed)), ("无人驻点天数", str(report.uncovered_days)),
             ("未达标事项(项)", str(len(report.missing))), ("出具时间", local_time(issued_at, tz))]
    return [StatementLine(label=k, value=v) for k, v in pairs]


def target_rows(report: AnnualReport) -> list[list[str]]:
    return [["指标", "目标", "完成", "达标"]] + [
        [t.label_zh, _value(t.required), _value(t.achieved), "是" if t.met else "否"] for t in report.targets]


def story(report: AnnualReport, issued_at: datetime, tz: ZoneInfo) -> list[Flowable]:
    w = layout.TEXT_WIDTH
    out: list[Flowable] = [layout.para(title_of(report), "title")]
    about = [["协议", report.agreement_name, "项目", report.programme],
             ["支援医院", report.supporting, "受援医院", report.recipient + ("(中医医院)" if report.recipient_is_tcm else "")],
             ["年度", str(report.year), "统计范围", _as_of(report)], ["出具时间", local_time(issued_at, tz), "", ""]]
    out += [layout.table(about, [w * 0.14, w * 0.36, w * 0.14, w * 0.36], header=False), Spacer(1, 6)]
    out.append(layout.para("一、组团式帮扶指标完成情况", "h2"))
    if report.targets_note:
        out.append(layout.para(report.targets_note))
    out.append(layout.table(target_rows(report), [w * 0.46, w * 0.18, w * 0.18, w * 0.18]))
    out.append(layout.para(
        f"全年 {report.days_in_year} 天,有人驻点 {report.covered_days} 天,无人驻点 {report.uncovered_days} 天;"
        f"最长空档:{_gap(report)}。派驻 {report.experts_stationed} 人,其中院长或副院长 {report.leaders_stationed} 人,"
        f"合计 {report.person_days} 人日。"))
    out.append(layout.para("二、尚未达标事项", "h2"))
    if report.missing:
        for i, item in enumerate(report.missing, start=1):
            out.append(layout.para(f"{i}. {item.label_zh}:{item.detail}"))
    else:
        out.append(layout.para("各项指标均已达到。"))
    out.append(layout.para("三、派驻人员及连续驻点", "h2"))
    out.append(layout.table([["姓名", "岗位", "科室", "开始", "结束", "连续驻点(月)", "达到要求"]] + [
        [s.name, s.post_label, s.department, s.starts_on.isoformat(),
         s.ends_on.isoformat() + ("(派驻中)" if s.ongoing else ""), str(s.continuous_months),
         "是" if s.reached else "否"] for s in report.stays], style="cell"))
    out.append(layout.para("四、逐月派驻团队", "h2"))
    out.append(layout.table([["月份", "人数", "院领导", "在岗天数", "成员"]] + [
        [t.month, str(t.experts), str(t.leaders), str(t.on_site_days),
         "、".join(f"{m.name}({m.post_label})" for m in t.members)] for t in report.teams],
        [w * 0.12, w * 0.1, w * 0.1, w * 0.12, w * 0.56], style="cell", wrap=frozenset({4})))
    out.append(layout.para("五、工作量(已审核)", "h2"))
    rows = [["项目", "数值"]] + [[label, format_number(getattr(report.totals, name))] for name, label in WORKLOAD]
    rows += [[f"{type_label(t)}(条)", str(n)] for t, n in report.totals.counts.items()]
    rows.append(["待审核记录(条,未计入)", str(report.pending.entries)])
    out.append(layout.table(rows, [w * 0.6, w * 0.4]))
    out.append(layout.para("六、派驻人员考核鉴定", "h2"))
    r = report.ratings
    out.append(layout.table([["优秀", "合格", "不合格", "已完成(会签)", "进行中"],
                             [str(r.excellent), str(r.qualified), str(r.unqualified), str(r.final),
                              str(r.in_progress)]]))
    return out


def workbook(report: AnnualReport, code: str, url: str, issued_at: datetime, tz: ZoneInfo) -> bytes:
    """汇总 (targets, coverage, missing, workload, ratings), then 派驻人员, 逐月团队, 空档."""
    book = Book(issued_at)
    ws = book.sheet("汇总")
    ws.append([title_of(report)])
    append(ws, [["协议", report.agreement_name], ["支援医院", report.supporting], ["受援医院", report.recipient],
                ["年度", report.year], ["统计截至", report.as_of], ["年度已结束", "是" if report.complete else "否"],
                ["出具时间", local(issued_at, tz)], ["验证码", code], ["核验网址", url]])
    if report.targets_note:
        append(ws, [["说明", report.targets_note]])
    ws.append([])
    append(ws, [["指标", "目标", "完成", "达标"], *(
        [t.label_zh, _cell(t.required), _cell(t.achieved), "是" if t.met else "否"] for t in report.targets)],
        header=True)
    ws.append([])
    coverage: list[list[Cell]] = [["全年天数", report.days_in_year], ["有人驻点天数", report.covered_days],
                                  ["无人驻点天数", report.uncovered_days], ["最长空档(天)", report.longest_gap_days],
                                  ["最长空档开始", report.longest_gap_start], ["最长空档结束", report.longest_gap_end],
                                  ["人日", report.person_days]]
    append(ws, [["驻点覆盖", "数值"], *coverage], header=True)
    ws.append([])
    append(ws, [["尚未达标事项", "说明"], *([m.label_zh, m.detail] for m in report.missing)], header=True)
    ws.append([])
    workload: list[list[Cell]] = [[label, getattr(report.totals, name)] for name, label in WORKLOAD]
    workload += [[f"{type_label(t)}(条)", n] for t, n in report.totals.counts.items()]
    workload.append(["待审核记录(条,未计入)", report.pending.entries])
    append(ws, [["工作量(已审核)", "数值"], *workload], header=True)
    ws.append([])
    r = report.ratings
    append(ws, [["考核鉴定", "人次"], ["优秀", r.excellent], ["合格", r.qualified], ["不合格", r.unqualified],
                ["已完成(会签)", r.final], ["进行中", r.in_progress]], header=True)
    fit(ws)
    book.table("派驻人员", ["姓名", "岗位", "科室", "开始日期", "结束日期", "派驻中", "连续驻点(月)", "达到要求"], (
        [s.name, s.post_label, s.department, s.starts_on, s.ends_on, "是" if s.ongoing else "否",
         s.continuous_months, "是" if s.reached else "否"] for s in report.stays))
    book.table("逐月团队", ["月份", "姓名", "岗位", "科室", "当月驻点天数", "当月在岗天数(已审核)"], (
        [t.month, m.name, m.post_label, m.department, m.days_in_month, m.on_site_days]
        for t in report.teams for m in t.members))
    return book.bytes()


def _cell(value: int | bool) -> Cell:
    return ("是" if value else "否") if isinstance(value, bool) else value


