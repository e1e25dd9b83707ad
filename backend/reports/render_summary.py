"""The monthly summary as a document (PDF story and XLSX workbook), and the lines its verification states."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from reportlab.platypus import Flowable, Spacer

from backend.documents import layout
from backend.documents.cells import local_time
from backend.documents.content import FIGURE_LABELS, format_number
from backend.reports.issued import StatementLine
from backend.reports.schemas import MonthlySummaryOut
from backend.reports.workbook import Book, Cell, append, fit, local

STATE_LABELS = {"draft": "草稿(未提交)", "submitted": "已提交,待审核", "approved": "已审核通过", "returned": "已退回修改"}
STATUS_LABELS = {"approved": "已审核", "pending": "待审核(未计入)"}
TITLE = "月度工作小结"


def title_of(view: MonthlySummaryOut) -> str:
    year, month = view.month.split("-")
    return f"{TITLE}({year}年{int(month)}月)"


def statement(view: MonthlySummaryOut, issued_at: datetime, tz: ZoneInfo) -> list[StatementLine]:
    """What the verification page repeats of this document."""
    c = view.content
    pairs = [
        ("文件", title_of(view)), ("姓名", view.expert.name), ("职称", view.expert.title or ""),
        ("派出医院", view.expert.home_institution or ""), ("月份", view.month),
        ("状态", STATE_LABELS[view.state]), ("已审核记录(条)", str(c.approved.entries)),
        ("待审核记录(条,未计入)", str(c.pending.entries)), ("出具时间", local_time(issued_at, tz)),
    ]
    return [StatementLine(label=k, value=v) for k, v in pairs]


def _figure_rows(view: MonthlySummaryOut) -> list[list[str]]:
    c = view.content
    rows = [["项目", "已审核", "待审核(未计入)"]]
    for name, label in FIGURE_LABELS:
        rows.append([label.replace("已审核", ""), format_number(getattr(c.approved, name)),
                     format_number(getattr(c.pending, name))])
    return rows


def story(view: MonthlySummaryOut, issued_at: datetime, tz: ZoneInfo) -> list[Flowable]:
    """The PDF's content, laid out by backend.documents in the shared page frame."""
    c, e = view.content, view.expert
    out: list[Flowable] = [layout.para(title_of(view), "title")]
    about = [["姓名", e.name, "职称", e.title or ""], ["派出医院", e.home_institution or "", "月份", view.month],
             ["状态", STATE_LABELS[view.state], "出具时间", local_time(issued_at, tz)]]
    if view.reviewed_by:
        about.append(["审核人", view.reviewed_by, "审核时间", local_time(view.reviewed_at, tz)])
    w = layout.TEXT_WIDTH
    out += [layout.table(about, [w * 0.15, w * 0.35, w * 0.15, w * 0.35], header=False), Spacer(1, 6)]
    out.append(layout.para("一、派驻情况", "h2"))
    stays = [["受援医院", "科室", "岗位", "开始", "结束"]] + [
        [d.recipient, d.department, d.post, d.starts_on.isoformat(),
         (d.ends_on.isoformat() + ("(计划)" if d.end_is_planned else "")) if d.ends_on else ""]
        for d in c.deployments]
    out.append(layout.table(stays))
    out.append(layout.para("二、本月工作量", "h2"))
    frozen = "按提交时的记录冻结" if view.figures_frozen else "按出具时的记录"
    out.append(layout.para(f"工作量{frozen};只有已审核的记录计入统计,待审核的单列、不计入。"
                           f"另有 {c.unsent_entries} 条记录尚未提交(草稿或已退回)。", "small"))
    out.append(layout.table(_figure_rows(view), [w * 0.5, w * 0.25, w * 0.25]))
    types = {t.activity_type: [t.label, str(t.count), "0"] for t in c.approved_by_type}
    for t in c.pending_by_type:
        types.setdefault(t.activity_type, [t.label, "0", "0"])[2] = str(t.count)
    if types:
        out.append(layout.para("按工作类型(条)", "h3"))
        out.append(layout.table([["类型", "已审核", "待审核"], *(types[k] for k in sorted(types))],
                                [w * 0.5, w * 0.25, w * 0.25]))
    out.append(layout.para("三、工作小结", "h2"))
    for paragraph in (view.narrative or "(尚未填写)").split("\n"):
        out.append(layout.para(paragraph))
    if view.review_comment:
        out.append(layout.para("四、审核意见", "h2"))
        out.append(layout.para(view.review_comment))
    out.append(layout.para("本月记录明细", "h2"))
    lines = [["日期", "类型", "内容", "状态", "审核人"]] + [
        [x.work_date.isoformat(), x.type_label, x.figures, STATUS_LABELS[x.status], x.approved_by or ""]
        for x in c.entries]
    out.append(layout.table(lines, [w * 0.13, w * 0.14, w * 0.45, w * 0.14, w * 0.14], style="cell",
                            wrap=frozenset({2})))
    return out


def workbook(view: MonthlySummaryOut, code: str, url: str, issued_at: datetime, tz: ZoneInfo) -> bytes:
    """汇总 (who, month, figures approved vs pending, the text), then 明细 (every entry of the month)."""
    c = view.content
    book = Book(issued_at)
    ws = book.sheet("汇总")
    ws.append([title_of(view)])
    rows: list[list[Cell]] = [["姓名", view.expert.name], ["职称", view.expert.title or ""],
                              ["派出医院", view.expert.home_institution or ""], ["月份", view.month],
                              ["状态", STATE_LABELS[view.state]], ["审核人", view.reviewed_by or ""],
                              ["审核时间", local(view.reviewed_at, tz)], ["出具时间", local(issued_at, tz)],
                              ["验证码", code], ["核验网址", url], ["未提交记录(条)", c.unsent_entries]]
    append(ws, rows)
    ws.append([])
    append(ws, [["项目", "已审核", "待审核(未计入)"], *(
        [label.replace("已审核", ""), getattr(c.approved, name), getattr(c.pending, name)]
        for name, label in FIGURE_LABELS)], header=True)
    ws.append([])
    append(ws, [["工作小结", view.narrative], ["审核意见", view.review_comment or ""]])
    fit(ws)
    book.table("明细", ["日期", "类型", "内容", "状态", "受援医院", "审核人", "审核时间"], (
        [x.work_date, x.type_label, x.figures, STATUS_LABELS[x.status], x.recipient, x.approved_by or "",
         local(x.approved_at, tz)] for x in c.entries))
    book.table("派驻", ["受援医院", "科室", "岗位", "开始日期", "结束日期"], (
        [d.recipient, d.department, d.post, d.starts_on, d.ends_on] for d in c.deployments))
    return book.bytes()
