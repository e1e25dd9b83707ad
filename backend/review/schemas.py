"""Wire types of review: submitting, the queue, decisions, unapproving, month closing and entry history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from backend.audit.queries import AuditEventOut
from backend.worklog.states import COMMENT_MAX_LENGTH

Comment = Annotated[str, msgspec.Meta(max_length=COMMENT_MAX_LENGTH)]
MAX_DECISIONS = 500


# Every body refuses unknown fields (422 unknown_field): a silently dropped key is lost data; version skew
# between app and server goes through the sync `schema_version` (docs/sync-protocol.md).
class SubmitRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Submit one entry; `expected_version` is the version the phone last saw (omit to skip the check)."""

    expected_version: Annotated[int, msgspec.Meta(ge=1)] | None = None


class SubmitWeekRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Submit every draft of one deployment dated in the ISO week that contains `week_start`."""

    deployment_id: uuid.UUID
    week_start: date


class Correction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a supervisor may correct in a surgery when approving it: the expert's role and the grade."""

    role: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    grade: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class Decision(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    entry_id: uuid.UUID
    version: Annotated[int, msgspec.Meta(ge=1)]
    action: Literal["approve", "return"]
    comment: Comment | None = None
    correction: Correction | None = None


class DecisionBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decisions: Annotated[list[Decision], msgspec.Meta(min_length=1, max_length=MAX_DECISIONS)]


Outcome = Literal["applied", "stale_version", "not_in_scope", "wrong_state", "locked", "not_allowed"]


class DecisionResult(msgspec.Struct, kw_only=True):
    """The answer to one decision; `status`/`version` are the entry's after it (or as found, when refused)."""

    entry_id: uuid.UUID
    outcome: Outcome
    status: str | None = None
    version: int | None = None
    reason: str | None = None
    detail: str | None = None


class DecisionResults(msgspec.Struct, kw_only=True):
    results: list[DecisionResult]
    applied: int


class UnapproveRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    entry_id: uuid.UUID
    reason: Comment
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None


class MonthRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A hospital's month, as `YYYY-MM`."""

    institution_id: uuid.UUID
    month: Annotated[str, msgspec.Meta(pattern=r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$")]  # the programme's years
    reason: Comment | None = None


class MonthClosureOut(msgspec.Struct, kw_only=True):
    institution_id: uuid.UUID
    month: str
    closed: bool
    closed_by: uuid.UUID | None
    closed_at: datetime | None
    reason: str | None
    entries: int
    pending_entries: int


class QueueItem(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    version: int
    work_date: date
    activity_type: str
    submitted_at: datetime | None
    pending_days: int
    overdue: bool
    revision_of: uuid.UUID | None
    fields: dict[str, Any]


class QueueGroup(msgspec.Struct, kw_only=True):
    """One expert's submitted entries of one ISO week at one hospital."""

    expert_id: uuid.UUID
    expert_name: str
    institution_id: uuid.UUID
    iso_year: int
    iso_week: int
    week_start: date
    counts: dict[str, int]
    total: int
    oldest_submitted_at: datetime | None
    oldest_pending_days: int
    overdue: int
    expert_last_sync_at: datetime | None
    expert_sync_overdue: bool
    items: list[QueueItem]


class SilentExpert(msgspec.Struct, kw_only=True):
    """An expert stationed at one of the caller's hospitals whose phone has not synced for too long."""

    expert_id: uuid.UUID
    expert_name: str
    institution_id: uuid.UUID
    last_sync_at: datetime | None


class ReviewQueue(msgspec.Struct, kw_only=True):
    overdue_days: int
    total: int
    overdue: int
    counts: dict[str, int]
    oldest_pending_days: int
    groups: list[QueueGroup]
    silent_experts: list[SilentExpert]


class VersionOut(msgspec.Struct, kw_only=True):
    version: int
    change: str
    changed_by: uuid.UUID | None
    changed_at: datetime
    snapshot: dict[str, Any]


class EntryHistory(msgspec.Struct, kw_only=True):
    """An entry's versions and audit events, plus the entries it revises or that revise it."""

    entry_id: uuid.UUID
    revision_of: uuid.UUID | None
    superseded_by: uuid.UUID | None
    revisions: list[uuid.UUID]
    versions: list[VersionOut]
    events: list[AuditEventOut]
