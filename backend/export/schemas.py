"""Wire types of the export and verification endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from backend.documents.content import WorkloadFigures
from backend.documents.verification import VerifiedFile

ExportFormat = Literal["pdf", "xlsx", "csv"]
ExportStatus = Literal["queued", "running", "done", "failed"]
ALL_FORMATS: tuple[ExportFormat, ...] = ("pdf", "xlsx", "csv")


class ExportCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Ask for an evidence document of one expert over one period (both days included)."""

    expert_id: uuid.UUID
    date_from: date
    date_to: date
    # service.py refuses a format named twice (code duplicate); published as uniqueItems.
    formats: Annotated[list[ExportFormat], msgspec.Meta(min_length=1, max_length=3, extra_json_schema={
        "uniqueItems": True})] = msgspec.field(
        default_factory=lambda: list(ALL_FORMATS)
    )


class ExportFileView(msgspec.Struct, kw_only=True):
    format: ExportFormat
    file_name: str
    content_type: str
    size: int
    sha256: str
    download_url: str


class ExportJob(msgspec.Struct, kw_only=True):
    """An export and how far it got; `files` is filled once `status` is `done`."""

    id: uuid.UUID
    expert_id: uuid.UUID
    date_from: date
    date_to: date
    formats: list[ExportFormat]
    status: ExportStatus
    progress: int
    error: str | None
    verification_code: str
    verify_url: str
    created_at: datetime
    finished_at: datetime | None
    files: list[ExportFileView]


class TypeTotal(msgspec.Struct, kw_only=True):
    activity_type: str
    label: str
    count: int


class Verification(msgspec.Struct, kw_only=True):
    """What a genuine document states; phone numbers and user names are never part of it."""

    verification_code: str
    expert_name: str
    title: str | None
    home_institution: str | None
    date_from: date
    date_to: date
    issued_at: datetime
    totals: WorkloadFigures
    by_type: list[TypeTotal]
    entry_count: int
    pending_count: int
    files: list[VerifiedFile]
    # Service toward the one-year rule as the document prints it (absent in documents issued before it was).
    service_as_of: date | None = None
    service_counted_days: int | None = None
    service_required_days: int | None = None
