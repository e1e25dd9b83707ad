"""Bounded query, path and header parameters, shared by every route: published in the schema, enforced by Litestar.

A value outside its bounds is refused with 422 naming the parameter (backend/http/problems.py). The bound sits
inside `Annotated[X | None, ...]`: Litestar enforces `Annotated[X | None, Parameter(...)]` but only publishes
`Annotated[X, Parameter(...)] | None`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from litestar.params import Parameter

FIRST_YEAR, LAST_YEAR = 2000, 2100  # the programme's years; a report or statistic outside them is a typo
MONTH_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"

Year = Annotated[int | None, Parameter(ge=FIRST_YEAR, le=LAST_YEAR, description="calendar year; default this year")]
PathYear = Annotated[int, Parameter(ge=FIRST_YEAR, le=LAST_YEAR, description="calendar year")]
# Published only: backend/reports/rules.py parse_month checks it and answers its own code (`invalid_month`).
_MONTH = {"pattern": MONTH_PATTERN}
Month = Annotated[str, Parameter(max_length=7, schema_extra=_MONTH, description="YYYY-MM, 2000-01 to 2100-12")]
MonthFilter = Annotated[str | None, Parameter(max_length=7, schema_extra=_MONTH,
                                              description="YYYY-MM, 2000-01 to 2100-12")]
DayText = Annotated[str, Parameter(schema_extra={"format": "date"}, max_length=10, description="YYYY-MM-DD")]
Day = Annotated[date | None, Parameter()]
Search = Annotated[str | None, Parameter(max_length=100, description="words of a name, username or code")]
Tag = Annotated[str | None, Parameter(max_length=40)]
# The catalogue's keys are published as its enum by backend/http/openapi.py (the catalogue is not http's to import).
ActivityTypeFilter = Annotated[str | None, Parameter(max_length=40, description="an activity type of the catalogue")]
DocumentFormat = Literal["pdf", "xlsx"]
ExportFormat = Literal["pdf", "xlsx", "csv"]
EntryStatusFilter = Literal["draft", "submitted", "approved", "returned"]
VerificationCode = Annotated[str, Parameter(min_length=4, max_length=40, description="the code printed on the document")]
