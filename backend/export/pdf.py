"""The PDF evidence document (派驻工作量证明), A4, in Chinese, with the verification code on every page.

Uses reportlab's built-in CID font STSong-Light: the PDF viewer supplies the glyphs, so no font file ships
with the service and the text stays extractable (a committee member can search and copy it).
"""

from __future__ import annotations

import functools
import io
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from backend.export.codes import display
from backend.export.content import Evidence
from backend.export.tables import (
    ENTRY_HEADER,
    MONTH_HEADER,
    deployment_rows,
    entry_rows,
    header_rows,
    local_time,
    month_rows,
    summary_rows,
    surgery_matrix,
)

FONT = "STSong-Light"
_MARGIN = 15 * mm
# Columns of the detail that need line wrapping (content, recipient); the rest are short plain strings.
_WRAPPED_ENTRY_COLUMNS = frozenset({2, 3})


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    # Registered on first use, not at import: adapters are built when needed, never as an import side effect.
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "base": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=1, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=11.5, leading=16, spaceBefore=8, spaceAfter=4, keepWithNext=1
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontSize=9, leading=13, spaceBefore=4, spaceAfter=2, keepWithNext=1
        ),
    }


def _month_widths(width: float) -> list[float]:
    figures = len(MONTH_HEADER) - 1
    return [width * 0.1] + [width * 0.9 / figures] * figures


def _table(
    rows: list[list[str]],
    widths: list[float] | None = None,
    *,
    header: bool = True,
    style: str = "base",
    wrap: frozenset[int] | None = None,
) -> Table:
    """A gridded table; only the `wrap` columns (all by default) become Paragraphs, which are slow to lay out."""
    cell = _styles()[style]
    data = [
        [Paragraph(escape(text), cell) if wrap is None or i in wrap else text for i, text in enumerate(row)]
        for row in rows
    ]
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    commands: list[Any] = [
        ("FONT", (0, 0), (-1, -1), FONT, cell.fontSize, cell.leading),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)))
    table.setStyle(TableStyle(commands))
    return table


def _entry_tables(evidence: Evidence, tz: ZoneInfo, width: float) -> list[Any]:
    """The detail as one table per month: short tables lay out in linear time, one long one does not."""
    widths = [width * f for f in (0.1, 0.14, 0.36, 0.16, 0.09, 0.15)]
    by_month: dict[str, list[list[str]]] = {}
    for row in entry_rows(evidence, tz):
        by_month.setdefault(row[0][:7], []).append(row[:6])  # the record id is in the XLSX and CSV
    out: list[Any] = []
    for month, rows in by_month.items():
        out.append(Paragraph(escape(f"{month}(共 {len(rows)} 条)"), _styles()["h3"]))
        out.append(_table([ENTRY_HEADER[:6], *rows], widths, style="cell", wrap=_WRAPPED_ENTRY_COLUMNS))
    return out


def _footer(evidence: Evidence) -> Any:
    line = f"验证码 {display(evidence.verification_code)}  核验网址 {evidence.verify_url}"

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawString(_MARGIN, 8 * mm, line)
        canvas.drawRightString(A4[0] - _MARGIN, 8 * mm, f"第 {doc.page} 页")
        canvas.drawRightString(
            A4[0] - _MARGIN, A4[1] - 9 * mm, f"验证码 {display(evidence.verification_code)}"
        )
        canvas.restoreState()

    return draw


def render(evidence: Evidence, tz: ZoneInfo) -> bytes:
    styles = _styles()
    width = A4[0] - 2 * _MARGIN
    out = io.BytesIO()
    # invariant: no random file id or creation stamp, so the same statement renders to the same bytes.
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title="派驻工作量证明",
        author="fieldlog",
        invariant=1,
    )
    p = styles["base"]
    h2 = styles["h2"]
    story: list[Any] = [
        Paragraph("派驻工作量证明", styles["title"]),
        Paragraph("一、基本信息", h2),
        _table(header_rows(evidence, tz), [width * 0.2, width * 0.8], header=False),
        Paragraph("二、派驻情况", h2),
        _table(deployment_rows(evidence), [width * f for f in (0.3, 0.16, 0.14, 0.13, 0.15, 0.12)])
        if evidence.deployments
        else Paragraph("统计区间内无派驻记录。", p),
        Paragraph("三、工作量汇总(仅含已审核记录)", h2),
        _table([["项目", "数值"], *summary_rows(evidence)], [width * 0.5, width * 0.5]),
        Spacer(1, 4 * mm),
        Paragraph("手术台次(分级 × 本人角色)", p),
        _table(surgery_matrix(evidence)),
        Paragraph("四、逐月统计", h2),
        _table([MONTH_HEADER, *month_rows(evidence)], _month_widths(width), style="cell"),
        Paragraph("五、已审核工作记录明细", h2),
    ]
    if evidence.entries:
        story += _entry_tables(evidence, tz, width)
    else:
        story.append(Paragraph("统计区间内无已审核记录。", p))
    story += [
        Spacer(1, 4 * mm),
        Paragraph(escape(f"另有待审核记录 {evidence.pending_count} 条,未计入以上数字。"), p),
        Paragraph("以上数据均来自经受援医院审核通过的工作记录;审核人与审核时间见明细。", p),
        Paragraph(
            escape(
                f"本证明出具时间 {local_time(evidence.issued_at, tz)}。核验:访问 {evidence.verify_url} "
                "可查看本证明所载内容及文件 SHA-256 值。"
            ),
            p,
        ),
        Spacer(1, 10 * mm),
        Paragraph("派出医院(盖章):____________    经办人:__________    日期:__________", p),
    ]
    footer = _footer(evidence)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
