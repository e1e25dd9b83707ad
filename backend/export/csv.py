"""The CSV of the counted entries: UTF-8 with a BOM and CRLF lines, so Excel opens the Chinese correctly."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from backend.documents.cells import safe_cell
from backend.export.evidence import Evidence
from backend.export.tables import ENTRY_HEADER, entry_rows


def render(evidence: Evidence, tz: ZoneInfo) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ENTRY_HEADER)
    writer.writerows([safe_cell(cell) for cell in row] for row in entry_rows(evidence, tz))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
