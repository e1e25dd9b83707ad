"""The sync wire protocol (v1): what a phone sends and what the server answers.

Every reply is an envelope that echoes the request id, so a 200 from a captive portal is never taken for
success. Phone-facing Structs tolerate unknown fields so an older server still accepts a newer app.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

PROTOCOL = "fieldlog-sync/1"

MutationKind = Literal["create", "update", "delete", "submit"]
Outcome = Literal["applied", "duplicate", "conflict", "locked", "rejected"]


class FieldErrorOut(msgspec.Struct, kw_only=True):
    field: str
    code: str
    message: str


class Mutation(msgspec.Struct, kw_only=True):
    """One queued change. `seq` is the device's strictly increasing mutation number (1, 2, 3, ...)."""

    seq: Annotated[int, msgspec.Meta(ge=1)]
    kind: MutationKind
    record_id: uuid.UUID
    base_version: int | None = None
    # For create/update: the entry content as in EntryCreate/EntryPatch (update sends only changed keys).
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    queued_at: datetime | None = None


class PushRequest(msgspec.Struct, kw_only=True):
    request_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    device_id: Annotated[str, msgspec.Meta(min_length=8, max_length=100)]
    app_version: str | None = None
    schema_version: int = 1
    device_time: datetime | None = None
    pending_count: int | None = None
    oldest_pending_at: datetime | None = None
    mutations: list[Mutation] = msgspec.field(default_factory=list)


class MutationResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The answer to one mutation; a resent mutation gets its stored answer with `replayed=True`."""

    seq: int
    record_id: uuid.UUID
    outcome: Outcome
    version: int | None = None
    reason: str | None = None
    errors: list[FieldErrorOut] = msgspec.field(default_factory=list)
    server_copy: dict[str, Any] | None = None
    replayed: bool = False


class PushResponse(msgspec.Struct, kw_only=True):
    protocol: str
    request_id: str
    device_id: str
    acknowledged_seq: int
    results: list[MutationResult]
    # Set when the batch skipped numbers: the phone must resend from `expected_seq`.
    gap: bool = False
    expected_seq: int | None = None
    server_time: datetime


class PullChange(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One changed record: kind entry | deployment | mutation (a rejected one) | catalog; op upsert | delete."""

    kind: str
    id: str
    op: Literal["upsert", "delete"]
    data: dict[str, Any] | None = None


class PullResponse(msgspec.Struct, kw_only=True):
    protocol: str
    request_id: str
    changes: list[PullChange]
    cursor: str
    has_more: bool
    # True: the cursor is unknown, corrupt or too old — push the queue, drop local server data, pull from scratch.
    reset: bool = False
    reset_reason: str | None = None
    catalog_version: int
    catalog_etag: str
    server_time: datetime


class SyncConfig(msgspec.Struct, kw_only=True):
    """Limits advertised to phones (and enforced with clear errors)."""

    protocol: str
    max_batch: int
    max_body_bytes: int
    max_expanded_bytes: int
    max_attachment_bytes: int
    attachment_types: list[str]
    pull_page_max: int
    tombstone_days: int
    gzip: bool = True
