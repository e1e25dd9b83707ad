"""Cell text every issued table shares: formula-safe text, local times, and display widths for spreadsheets.

The evidence workbook (backend/export/xlsx.py) and the report workbooks (backend/reports/workbook.py) size
their columns with the same measure and neutralise the same formula characters, so a Chinese column is
never cut off and text typed on a phone never runs as a formula.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

MAX_WIDTH = 60
Cell = str | int | float | date | datetime | None
# A spreadsheet runs a cell that starts with one of these as a formula; text typed on a phone must not.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading formula character is neutralised with an apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def local_time(moment: datetime | None, tz: ZoneInfo) -> str:
    """A moment as the service's local wall-clock minute ("2025-03-04 09:30"), or "" for none."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def text_width(value: Cell) -> int:
    """How many character cells a value takes on screen (wide East Asian characters count two)."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))
