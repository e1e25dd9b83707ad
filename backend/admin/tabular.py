"""Reading roster spreadsheets (CSV or XLSX) into rows keyed by canonical column names. Pure: no database.

Headers may be English or Chinese (`姓名`, `工号或用户名`, `派出医院编码` ...); a `*` or a note in brackets
(`姓名(必填)`) is ignored. An unknown column is an error rather than silently dropped: a misspelt optional
column would otherwise lose a whole column of data without anyone noticing.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from backend.errors import FieldError, InvalidInput, MalformedRequest, UnsupportedMediaType

CSV_TYPES = ("text/csv", "application/csv")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 5000


@dataclass(frozen=True)
class Columns:
    """The columns of one import kind: canonical name → accepted header spellings; which are required."""

    aliases: dict[str, tuple[str, ...]]
    required: frozenset[str]

    def lookup(self) -> dict[str, str]:
        table = {}
        for canonical, names in self.aliases.items():
            for name in (canonical, *names):
                table[normalize_header(name)] = canonical
        return table


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


_NOTE = re.compile(r"[(（\[【].*?[)）\]】]")


def normalize_header(text: object) -> str:
    raw = _NOTE.sub("", str(text or "")).replace("*", "").replace("＊", "")
    return re.sub(r"[\s_\-]+", "_", raw.strip().lower()).strip("_")


def _cell(value: Any) -> Any:
    """Trim text; a whole float from Excel (a code typed as a number, 1001.0) becomes its integer text."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _decode_csv(body: bytes) -> str:
    # Excel on Chinese Windows saves "CSV" in GB18030/GBK; everything else sends UTF-8 (often with a BOM).
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return body.decode("gb18030")
        except UnicodeDecodeError:
            raise MalformedRequest("The CSV is neither UTF-8 nor GB18030 text") from None


def _csv_rows(body: bytes) -> Iterator[list[Any]]:
    try:
        yield from csv.reader(io.StringIO(_decode_csv(body), newline=""))
    except csv.Error as exc:
        raise MalformedRequest(f"The CSV could not be read: {exc}") from None


def _xlsx_rows(body: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook  # loaded only when an XLSX arrives

    try:
        book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise MalformedRequest(f"The body is not a readable XLSX workbook: {exc}") from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def read_table(body: bytes, media_type: str, columns: Columns) -> Table:
    """The header and the data rows (numbered as the spreadsheet shows them, header = row 1)."""
    if media_type in CSV_TYPES:
        source: Iterable[list[Any]] = _csv_rows(body)
    elif media_type == XLSX_TYPE:
        source = _xlsx_rows(body)
    else:
        raise UnsupportedMediaType(f"Send text/csv or {XLSX_TYPE} (got {media_type or 'no content type'})",
                                   headers={"Accept": f"text/csv, {XLSX_TYPE}"})
    lookup = columns.lookup()
    table: Table | None = None
    for number, raw in enumerate(source, start=1):
        values = [_cell(v) for v in raw]
        if not any(v is not None for v in values):
            continue
        if table is None:
            table = _header(values, lookup, columns)
            continue
        if len(table.rows) >= MAX_ROWS:
            raise InvalidInput(f"At most {MAX_ROWS} rows per import; split the file",
                               errors=[FieldError(field="rows", code="too_many", message=f"More than {MAX_ROWS} rows")])
        table.rows.append((number, {c: values[i] if i < len(values) else None
                                    for i, c in enumerate(table.columns) if c}))
    if table is None:
        raise InvalidInput("The file has no header row", errors=[
            FieldError(field="columns", code="required", message="The first row must name the columns")])
    return table


def _header(values: list[Any], lookup: dict[str, str], columns: Columns) -> Table:
    names: list[str] = []
    errors: list[FieldError] = []
    for value in values:
        if value is None:
            names.append("")  # an unnamed, empty column (Excel's trailing cells) is ignored
            continue
        canonical = lookup.get(normalize_header(value))
        if canonical is None:
            errors.append(FieldError(field=f"columns.{value}", code="unknown_column",
                                     message=f"Unknown column {value!r}; accepted: {', '.join(columns.aliases)}"))
        elif canonical in names:
            errors.append(FieldError(field=f"columns.{value}", code="duplicate_column",
                                     message=f"Column {canonical} appears twice"))
        names.append(canonical or "")
    for missing in sorted(columns.required - set(names)):
        errors.append(FieldError(field=f"columns.{missing}", code="required", message=f"Column {missing} is required"))
    if errors:
        raise InvalidInput("The header row does not match this import", errors=errors)
    return Table(columns=names)
