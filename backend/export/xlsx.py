"""The workbook: 汇总 (who, period, totals, surgeries), 按月 (month by month) and 明细 (the counted entries)."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from backend.export.content import Evidence
from backend.export.tables import (
    ENTRY_HEADER,
    MONTH_HEADER,
    entry_rows,
    header_rows,
    month_rows,
    safe_cell,
    summary_rows,
    surgery_matrix,
)

_BOLD = Font(bold=True)


def _append(sheet: Worksheet, rows: list[list[str]], *, header: bool = False) -> None:
    for i, row in enumerate(rows):
        # openpyxl stores a string starting with "=" as a formula: text from phones goes through safe_cell.
        sheet.append([safe_cell(cell) for cell in row])
        if header and i == 0:
            for cell in sheet[sheet.max_row]:
                cell.font = _BOLD


def _numbers(rows: list[list[str]]) -> list[list[str | int | float]]:
    """Month figures as numbers, so HR can sum and chart them."""
    out: list[list[str | int | float]] = []
    for row in rows:
        converted: list[str | int | float] = [row[0]]
        for cell in row[1:]:
            converted.append(float(cell) if "." in cell else int(cell))
        out.append(converted)
    return out


def render(evidence: Evidence, tz: ZoneInfo) -> bytes:
    wb = Workbook()
    # Fixed document properties: the same data gives the same workbook apart from the issue time.
    wb.properties.creator = "fieldlog"
    wb.properties.created = wb.properties.modified = evidence.issued_at.replace(tzinfo=None, microsecond=0)
    summary = wb.active
    assert summary is not None
    summary.title = "汇总"
    summary.append(["派驻工作量证明"])
    summary["A1"].font = Font(bold=True, size=14)
    _append(summary, header_rows(evidence, tz))
    summary.append([])
    _append(summary, [["工作量(已审核)", "数值"], *summary_rows(evidence)], header=True)
    summary.append([])
    _append(summary, surgery_matrix(evidence), header=True)
    summary.column_dimensions["A"].width = 26
    summary.column_dimensions["B"].width = 40

    months = wb.create_sheet("按月")
    _append(months, [MONTH_HEADER], header=True)
    for row in _numbers(month_rows(evidence)):
        months.append(row)

    detail = wb.create_sheet("明细")
    _append(detail, [ENTRY_HEADER, *entry_rows(evidence, tz)], header=True)
    for column, width in zip("ABCDEFG", (12, 16, 60, 24, 12, 18, 38), strict=True):
        detail.column_dimensions[column].width = width

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
