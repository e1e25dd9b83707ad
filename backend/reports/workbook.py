"""Small XLSX writer for the reports: typed cells, a bold frozen header per table sheet, widths that fit Chinese."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from backend.documents.cells import MAX_WIDTH, Cell, safe_cell, text_width

_BOLD = Font(bold=True)
_FILL = PatternFill("solid", fgColor="E6E6E6")


class Book:
    """A workbook built sheet by sheet; the first sheet is the summary."""

    def __init__(self, created: datetime) -> None:
        self.wb = Workbook()
        self.wb.properties.creator = "fieldlog"
        self.wb.properties.created = self.wb.properties.modified = created.replace(tzinfo=None, microsecond=0)
        self._first = True

    def sheet(self, title: str) -> Worksheet:
        if self._first:
            self._first = False
            ws = self.wb.active
            assert ws is not None
            ws.title = title
            return ws
        return self.wb.create_sheet(title)

    def table(self, title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Worksheet:
        """A sheet holding one table, header frozen."""
        ws = self.sheet(title)
        append(ws, [list(header), *rows], header=True)
        ws.freeze_panes = "A2"
        fit(ws)
        return ws

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.wb.save(out)
        return out.getvalue()


def append(ws: Worksheet, rows: Iterable[Sequence[Cell]], *, header: bool = False) -> None:
    for i, row in enumerate(rows):
        # Text typed by users must never become a formula.
        ws.append([safe_cell(v) if isinstance(v, str) else v for v in row])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            if header and i == 0:
                cell.font, cell.fill = _BOLD, _FILL


def fit(ws: Worksheet, minimum: int = 8) -> None:
    widths: dict[str, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is not None and cell.column_letter:
                widths[cell.column_letter] = max(widths.get(cell.column_letter, 0), text_width(cell.value))
            if isinstance(cell.value, str) and text_width(cell.value) > MAX_WIDTH:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = min(max(width + 2, minimum), MAX_WIDTH)


def local(moment: datetime | None, tz: object) -> datetime | None:
    """Excel has no time zones: a moment becomes the service's local wall-clock time."""
    return moment.astimezone(tz).replace(tzinfo=None, microsecond=0) if moment else None  # type: ignore[arg-type]
