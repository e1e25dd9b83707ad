"""Wire types of entries: what the phone sends and what every API answers about an entry."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any

import msgspec

Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
Minutes = Annotated[int, msgspec.Meta(extra_json_schema={"minimum": 1, "maximum": 24 * 60})]  # rules.check_times


class Location(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Checked by backend/worklog/rules.py (its codes); published here so a generated client knows the range.
    lat: Annotated[float, msgspec.Meta(extra_json_schema={"minimum": -90, "maximum": 90})]
    lon: Annotated[float, msgspec.Meta(extra_json_schema={"minimum": -180, "maximum": 180})]
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=100000)] | None = None


class EntryCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new entry; `id` is chosen by the phone and becomes the server's id."""

    id: uuid.UUID
    deployment_id: uuid.UUID
    work_date: date
    activity_type: Annotated[str, msgspec.Meta(max_length=40)]
    fields: dict[str, Any] = msgspec.field(default_factory=dict)
    start_time: time | None = None
    end_time: time | None = None
    duration_minutes: Minutes | None = None
    note: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    location: Location | None = None
    attachments: Annotated[list[Sha256], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    device_time: datetime | None = None


class EntryPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A partial change; fields left out keep their value (send null to clear an optional one)."""

    deployment_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    work_date: date | msgspec.UnsetType = msgspec.UNSET
    activity_type: str | msgspec.UnsetType = msgspec.UNSET
    fields: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    start_time: time | None | msgspec.UnsetType = msgspec.UNSET
    end_time: time | None | msgspec.UnsetType = msgspec.UNSET
    duration_minutes: Minutes | None | msgspec.UnsetType = msgspec.UNSET
    note: Annotated[str, msgspec.Meta(max_length=4000)] | None | msgspec.UnsetType = msgspec.UNSET
    location: Location | None | msgspec.UnsetType = msgspec.UNSET
    attachments: Annotated[list[Sha256], msgspec.Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET
    device_time: datetime | None | msgspec.UnsetType = msgspec.UNSET


class EntryOut(msgspec.Struct, kw_only=True):
    """An entry as every reader sees it, with its review and lock state."""

    id: uuid.UUID
    expert_id: uuid.UUID
    deployment_id: uuid.UUID
    institution_id: uuid.UUID
    work_date: date
    activity_type: str
    fields: dict[str, Any]
    start_time: time | None
    end_time: time | None
    duration_minutes: int | None
    note: str | None
    location: dict[str, Any] | None
    attachments: list[str]
    missing_attachments: list[str]
    status: str
    version: int
    locked: bool
    lock_reason: str | None
    review_comment: str | None
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    submitted_at: datetime | None
    revision_of: uuid.UUID | None
    superseded_by: uuid.UUID | None
    quarantined: bool
    device_time: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted: bool


class EntryPage(msgspec.Struct, kw_only=True):
    items: list[EntryOut]
    next_cursor: str | None
