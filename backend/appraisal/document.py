"""The appraisal form (派驻期满考核鉴定表) as a document: the period's figures and the three signed parts.

Issued like the reports (backend.reports.issue): its own verification code, signed PDF or XLSX.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from reportlab.platypus import Flowable, Spacer
from sqlalchemy.ext.asyncio import AsyncSession

from backend.appraisal.schemas import AppraisalOut
from backend.auth.principal import Principal
from backend.documents import layout
from backend.documents.cells import local_time
from backend.documents.content import FIGURE_LABELS, ExpertHeader, format_number
from backend.reports.issue import IssuedFile, issue_document
from backend.reports.issued import StatementLine
from backend.reports.workbook import Book, Cell, append, fit, local
from backend.settings import Settings

TITLE = "派驻期满考核鉴定表"
STATE_LABELS = {"self_assessed": "待受援医院考核", "rated": "待派出医院会签", "countersigned": "已会签(定稿)"}


def _period(a: AppraisalOut) -> str:
    return f"{a.period_start} 至 {a.period_end}"


def statement(a: AppraisalOut, expert: ExpertHeader, issued_at: datetime, tz: ZoneInfo) -> list[StatementLine]:
    pairs = [("文件", TITLE), ("姓名", expert.name), ("派出医院", expert.home_institution or ""),
             ("受援医院", a.recipient), ("考核期间", _period(a)), ("考核等级", a.rating_label or "尚未考核"),
             ("状态", STATE_LABELS.get(a.state or "", "")), ("出具时间", local_time(issued_at, tz))]
    return [StatementLine(label=k, value=v) for k, v in pairs]


def _signed(name: str | None, at: datetime | None, tz: ZoneInfo) -> str:
    return f"签署:{name or ''} {local_time(at, tz)}" if at else "尚未签署"


def story(a: AppraisalOut, expert: ExpertHeader, issued_at: datetime, tz: ZoneInfo) -> list[Flowable]:
    w = layout.TEXT_WIDTH
    out: list[Flowable] = [layout.para(TITLE, "title")]
    about = [["姓名", expert.name, "职称", expert.title or ""],
             ["派出医院", expert.home_institution or "", "受援医院", a.recipient],
             ["科室", a.department, "岗位", a.post_label],
             ["考核期间", _period(a) + ("(派驻期满)" if a.final else "(年度)"), "状态",
              STATE_LABELS.get(a.state or "", "")]]
    out += [layout.table(about, [w * 0.14, w * 0.36, w * 0.14, w * 0.36], header=False), Spacer(1, 6)]
    f = a.figures
    out.append(layout.para("一、考核期间工作量(已审核)", "h2"))
    rows = [["项目", "数值"], ["期间天数", str(f.days_in_period)]]
    rows += [[label, format_number(getattr(f.approved, name))] for name, label in FIGURE_LABELS]
    rows.append(["待审核记录(条,未计入)", str(f.pending_entries)])
    out.append(layout.table(rows, [w * 0.6, w * 0.4]))
    note = "考核时冻结" if a.figures_frozen else "按出具时的记录"
    out.append(layout.para(f"工作量{note}。", "small"))
    out.append(layout.para("二、个人总结", "h2"))
    out += [layout.para(p) for p in (a.self_assessment or "").split("\n")]
    out.append(layout.para(_signed(expert.name, a.self_signed_at, tz), "small"))
    out.append(layout.para("三、受援医院考核意见", "h2"))
    out.append(layout.para(f"考核等级:{a.rating_label or '尚未考核'}"))
    out += [layout.para(p) for p in (a.rating_comment or "").split("\n") if p]
    out.append(layout.para(_signed(a.rated_by, a.rated_at, tz), "small"))
    out.append(layout.para("四、派出医院意见", "h2"))
    out += [layout.para(p) for p in (a.countersign_comment or "").split("\n") if p]
    out.append(layout.para(_signed(a.countersigned_by, a.countersigned_at, tz), "small"))
    return out


def workbook(a: AppraisalOut, expert: ExpertHeader, code: str, url: str, issued_at: datetime, tz: ZoneInfo) -> bytes:
    book = Book(issued_at)
    ws = book.sheet("汇总")
    ws.append([TITLE])
    rows: list[list[Cell]] = [
        ["姓名", expert.name], ["派出医院", expert.home_institution or ""], ["受援医院", a.recipient],
        ["科室", a.department], ["岗位", a.post_label], ["考核期间自", a.period_start], ["考核期间至", a.period_end],
        ["状态", STATE_LABELS.get(a.state or "", "")], ["考核等级", a.rating_label or ""],
        ["受援医院考核意见", a.rating_comment or ""], ["考核人", a.rated_by or ""], ["考核时间", local(a.rated_at, tz)],
        ["派出医院意见", a.countersign_comment or ""], ["会签人", a.countersigned_by or ""],
        ["会签时间", local(a.countersigned_at, tz)], ["个人总结", a.self_assessment or ""],
        ["出具时间", local(issued_at, tz)], ["验证码", code], ["核验网址", url]]
    append(ws, rows)
    ws.append([])
    figures: list[list[Cell]] = [["期间天数", a.figures.days_in_period]]
    figures += [[label, getattr(a.figures.approved, name)] for name, label in FIGURE_LABELS]
    figures.append(["待审核记录(条,未计入)", a.figures.pending_entries])
    append(ws, [["工作量(已审核)", "数值"], *figures], header=True)
    fit(ws)
    return book.bytes()


async def issue_appraisal(session: AsyncSession, principal: Principal, appraisal: AppraisalOut,
                          expert: ExpertHeader, fmt: str, settings: Settings) -> IssuedFile:
    """The appraisal form as a signed PDF or an XLSX workbook."""
    return await issue_document(
        session, principal, settings, kind="appraisal", fmt=fmt, subject_id=appraisal.deployment_id,
        title=TITLE, file_stem=f"考核鉴定表-{expert.name}-{appraisal.period_start}",
        statement=lambda at, tz: statement(appraisal, expert, at, tz),
        story=lambda at, tz: story(appraisal, expert, at, tz),
        workbook=lambda code, url, at, tz: workbook(appraisal, expert, code, url, at, tz))
