"""What one evidence document states: the shared facts of backend/documents/content.py plus the evidence's own
(the expert's cumulative service toward the one-year rule and the countersigned appraisals of the period).

The produce module fills it; the PDF, XLSX and CSV writers only lay it out, so all three formats state the same
facts.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from backend.documents.content import (
    DeploymentLine,
    EntryLine,
    ExpertHeader,
    MonthFigures,
    SurgeryCount,
    TypeCount,
    WorkloadFigures,
)
from backend.service_time import ServiceRules


class AppraisalEntry(msgspec.Struct, kw_only=True):
    """A countersigned end-of-stay appraisal (派驻期满考核鉴定) as the evidence document lists it."""

    recipient: str
    department: str
    period_start: date
    period_end: date
    rating_label: str
    rated_by: str | None
    rated_at: datetime | None
    countersigned_by: str | None
    countersigned_at: datetime | None


class ServiceLine(msgspec.Struct, kw_only=True):
    """Cumulative grassroots service toward the one-year rule as of a day, under the rules in force."""

    as_of: date
    counted_days: int
    required_days: int
    remaining_days: int
    met_on: date | None
    rules: ServiceRules


class Evidence(msgspec.Struct, kw_only=True):
    """Everything one evidence document states."""

    expert: ExpertHeader
    date_from: date
    date_to: date
    deployments: list[DeploymentLine]
    totals: WorkloadFigures
    months: list[MonthFigures]
    by_type: list[TypeCount]
    surgeries: list[SurgeryCount]
    entries: list[EntryLine]
    pending_count: int
    issued_at: datetime
    verification_code: str
    verify_url: str
    # None only for documents built without it (unit tests of the layout).
    service: ServiceLine | None = None
    appraisals: list[AppraisalEntry] = msgspec.field(default_factory=list)

