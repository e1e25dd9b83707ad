"""The PDF evidence document (派驻工作量证明) a promotion committee reads: A4, in Chinese, in the embedded
CJK font, signed by the issuing institution, with the verification code and its QR code on every page.

Sections: 一 the expert; 二 where and when (deployments); 三 service toward the one-year rule with the
counting rules in force; 四 the countersigned end-of-stay appraisals; 五 totals and totals by activity,
surgeries by grade × role; 六 month by month; 七 every counted entry with its approver and approval time.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from backend.documents import signing
from backend.documents.codes import display
from backend.documents.layout import TEXT_WIDTH, PageFrame, build_pdf, para, table
from backend.export.evidence import Evidence
from backend.export.tables import (
    APPRAISAL_HEADER,
    ENTRY_HEADER,
    MONTH_HEADER,
    appraisal_rows,
    deployment_rows,
    entry_rows,
    header_rows,
    local_time,
    month_rows,
    service_rows,
    summary_rows,
    surgery_matrix,
)
from backend.settings import Settings

TITLE = "派驻工作量证明"
# Columns of the detail that need line wrapping (content, recipient); the rest are short plain strings.
_WRAPPED_ENTRY_COLUMNS = frozenset({2, 3})


def _month_widths(width: float) -> list[float]:
    figures = len(MONTH_HEADER) - 1
    return [width * 0.1] + [width * 0.9 / figures] * figures


def _entry_tables(evidence: Evidence, tz: ZoneInfo, width: float) -> list[Flowable]:
    """The detail as one table per month: short tables lay out in linear time, one long one does not."""
    widths = [width * f for f in (0.1, 0.14, 0.36, 0.16, 0.09, 0.15)]
    by_month: dict[str, list[list[str]]] = {}
    for row in entry_rows(evidence, tz):
        by_month.setdefault(row[0][:7], []).append(row[:6])  # the record id is in the XLSX and CSV
    out: list[Flowable] = []
    for month, rows in by_month.items():
        out.append(para(f"{month}(共 {len(rows)} 条)", "h3"))
        out.append(table([ENTRY_HEADER[:6], *rows], widths, style="cell", wrap=_WRAPPED_ENTRY_COLUMNS))
    return out


def story(evidence: Evidence, tz: ZoneInfo) -> list[Any]:
    width = TEXT_WIDTH
    pairs = [width * 0.3, width * 0.7]
    out: list[Any] = [
        para(TITLE, "title"),
        para("一、基本信息", "h2"),
        table(header_rows(evidence, tz), [width * 0.2, width * 0.8], header=False),
        para("二、派驻情况", "h2"),
        table(deployment_rows(evidence), [width * f for f in (0.3, 0.16, 0.14, 0.13, 0.15, 0.12)])
        if evidence.deployments
        else para("统计区间内无派驻记录。"),
    ]
    if evidence.service is not None:
        out += [
            para("三、基层服务时间(晋升一年服务要求)", "h2"),
            table(service_rows(evidence), pairs, header=False),
            para("服务天数为全部派驻期间累计,按经审核的考勤记录和上列规则计算,与统计区间无关。", "small"),
        ]
    out += [
        para("四、派驻期满考核鉴定", "h2"),
        table(
            [APPRAISAL_HEADER, *appraisal_rows(evidence, tz)],
            [width * f for f in (0.2, 0.12, 0.22, 0.1, 0.18, 0.18)],
        )
        if evidence.appraisals
        else para("统计区间内无已完成(派出医院人事已确认)的考核鉴定。"),
    ]
    out += [
        para("五、工作量汇总(仅含已审核记录)", "h2"),
        table([["项目", "数值"], *summary_rows(evidence)], [width * 0.5, width * 0.5]),
        Spacer(1, 4 * mm),
        para("手术台次(分级 × 本人角色)"),
        table(surgery_matrix(evidence)),
        para("六、逐月统计", "h2"),
        table([MONTH_HEADER, *month_rows(evidence)], _month_widths(width), style="cell"),
        para("七、已审核工作记录明细", "h2"),
    ]
    if evidence.entries:
        out += _entry_tables(evidence, tz, width)
    else:
        out.append(para("统计区间内无已审核记录。"))
    out += [
        Spacer(1, 4 * mm),
        para(f"另有待审核记录 {evidence.pending_count} 条,未计入以上数字。"),
        para("以上数据均来自经受援医院审核通过的工作记录;审核人与审核时间见明细。"),
        para(
            f"本证明出具时间 {local_time(evidence.issued_at, tz)}。核验:扫描页脚二维码或访问 {evidence.verify_url},"
            "可查看本证明所载内容,并可上传电子文件核对是否为出具的原件。"
        ),
        Spacer(1, 10 * mm),
        para("派出医院(盖章):____________    经办人:__________    日期:__________"),
    ]
    return out


def frame(evidence: Evidence) -> PageFrame:
    return PageFrame(
        title=f"{TITLE} · {evidence.expert.name}",
        verification_code=display(evidence.verification_code),
        verify_url=evidence.verify_url,
        subject=f"{evidence.date_from.isoformat()} 至 {evidence.date_to.isoformat()}",
    )


def render(evidence: Evidence, tz: ZoneInfo) -> bytes:
    """The unsigned document (deterministic: the same evidence gives the same bytes)."""
    return build_pdf(story(evidence, tz), frame(evidence))


def render_signed(evidence: Evidence, settings: Settings) -> bytes:
    """The document as issued: signed with the institution's key. Blocking; run it in a worker thread."""
    return signing.issue_pdf(
        story(evidence, ZoneInfo(settings.timezone)), frame(evidence), settings, reason=TITLE
    )
