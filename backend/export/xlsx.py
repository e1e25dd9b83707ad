"""The workbook: 汇总 first (who, period, service time, totals, surgeries), then 派驻 (stays), 按月 (month by
month) and 明细 (the counted entries).

Cells are typed: dates are Excel dates, figures are numbers HR can sum and chart, times are local date-times.
Table sheets freeze their header row; column widths are measured in display cells, a Chinese character
counting two, so nothing is cut off when the file opens.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from backend.documents.cells import MAX_WIDTH, Cell, safe_cell, text_width
from backend.documents.codes import display
from backend.documents.content import FIGURE_LABELS, WorkloadFigures
from backend.export.evidence import Evidence
from backend.export.tables import ENTRY_HEADER, MONTH_HEADER, service_rows, surgery_matrix

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E6E6E6")


def _cell(value: Cell) -> Cell:
    # openpyxl stores a string starting with "=" as a formula: text from phones goes through safe_cell.
    return safe_cell(value) if isinstance(value, str) else value


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    """Excel has no time zones: a moment is written as the local wall-clock time of the service."""
    return moment.astimezone(tz).replace(tzinfo=None, microsecond=0) if moment else None


def _append(sheet: Worksheet, rows: Iterable[Sequence[Cell]], *, header: bool = False) -> None:
    for i, row in enumerate(rows):
        sheet.append([_cell(v) for v in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
            if header and i == 0:
                cell.font = _BOLD
                cell.fill = _HEADER_FILL


def _fit_columns(sheet: Worksheet, minimum: int = 8) -> None:
    widths: dict[str, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is not None and cell.column_letter:
                widths[cell.column_letter] = max(widths.get(cell.column_letter, 0), text_width(cell.value))
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = min(max(width + 2, minimum), MAX_WIDTH)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and text_width(cell.value) > MAX_WIDTH:
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _figures(figures: WorkloadFigures) -> list[Cell]:
    return [getattr(figures, name) for name, _ in FIGURE_LABELS]


def _summary(sheet: Worksheet, evidence: Evidence, tz: ZoneInfo) -> None:
    expert = evidence.expert
    sheet.append(["派驻工作量证明"])
    sheet["A1"].font = Font(bold=True, size=14)
    _append(
        sheet,
        [
            ["姓名", expert.name],
            ["职称", expert.title or ""],
            ["专业", expert.specialty or ""],
            ["派出医院", expert.home_institution or ""],
            ["统计区间自", evidence.date_from],
            ["统计区间至", evidence.date_to],
            ["出具时间", _local(evidence.issued_at, tz)],
            ["验证码", display(evidence.verification_code)],
            ["核验网址", evidence.verify_url],
        ],
    )
    if evidence.service is not None:
        sheet.append([])
        service = evidence.service
        typed: dict[str, Cell] = {
            "截至日期": service.as_of,
            "累计服务天数": service.counted_days,
            "要求天数": service.required_days,
            "尚差天数": service.remaining_days,
            "达到要求日期": service.met_on or "尚未达到",
        }
        rows = [[label, typed.get(label, value)] for label, value in service_rows(evidence)]
        _append(sheet, [["基层服务时间", ""], *rows], header=True)
    sheet.append([])
    totals: list[list[Cell]] = [
        [label, value] for (_, label), value in zip(FIGURE_LABELS, _figures(evidence.totals), strict=True)
    ]
    totals += [[f"{t.label}(次)", t.count] for t in evidence.by_type]
    totals.append(["待审核记录(条,未计入)", evidence.pending_count])
    _append(sheet, [["工作量(已审核)", "数值"], *totals], header=True)
    if evidence.appraisals:
        sheet.append([])
        rows_a: list[list[Cell]] = [
            [
                a.recipient,
                a.department,
                a.period_start,
                a.period_end,
                a.rating_label,
                a.rated_by or "",
                _local(a.rated_at, tz),
                a.countersigned_by or "",
                _local(a.countersigned_at, tz),
            ]
            for a in evidence.appraisals
        ]
        header = [
            "考核鉴定:受援医院",
            "科室",
            "期间自",
            "期间至",
            "等次",
            "评定人",
            "评定时间",
            "人事确认",
            "确认时间",
        ]
        _append(sheet, [header, *rows_a], header=True)
    sheet.append([])
    matrix = surgery_matrix(evidence)
    _append(sheet, [matrix[0], *([row[0], *(int(v) for v in row[1:])] for row in matrix[1:])], header=True)
    _fit_columns(sheet)


def render(evidence: Evidence, tz: ZoneInfo) -> bytes:
    wb = Workbook()
    # Fixed document properties: the same data gives the same workbook apart from the issue time.
    wb.properties.creator = "fieldlog"
    wb.properties.created = wb.properties.modified = evidence.issued_at.replace(tzinfo=None, microsecond=0)
    summary = wb.active
    assert summary is not None
    summary.title = "汇总"
    _summary(summary, evidence, tz)

    stays = wb.create_sheet("派驻")
    rows: list[list[Any]] = [["受援医院", "科室", "岗位", "开始日期", "结束日期", "结束日期为计划", "状态"]]
    rows += [
        [
            d.recipient,
            d.department,
            d.post,
            d.starts_on,
            d.ends_on,
            "是" if d.end_is_planned else "否",
            d.status,
        ]
        for d in evidence.deployments
    ]
    _append(stays, rows, header=True)

    months = wb.create_sheet("按月")
    month_rows: list[list[Cell]] = [[m.month, *_figures(m.figures)] for m in evidence.months]
    _append(months, [MONTH_HEADER, *month_rows, ["合计", *_figures(evidence.totals)]], header=True)

    detail = wb.create_sheet("明细")
    entries = [
        [
            line.work_date,
            line.type_label,
            line.figures,
            line.recipient,
            line.approved_by or "",
            _local(line.approved_at, tz),
            str(line.id),
        ]
        for line in evidence.entries
    ]
    _append(detail, [ENTRY_HEADER, *entries], header=True)
    for sheet in (stays, months, detail):
        sheet.freeze_panes = "A2"
        _fit_columns(sheet)

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
