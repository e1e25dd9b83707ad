"""The sync wire protocol (v1): what a phone sends and what the server answers.

Every reply is an envelope that echoes the request id, so a 200 from a captive portal is never taken for
success. Every Struct a phone sends refuses unknown fields (a key the server drops would be lost data): an
unknown top-level key is a 422 for the whole push, an unknown key in one mutation's `data` answers that
mutation `rejected` with `unknown_field`. Version skew goes through `schema_version` instead: a push written
for a newer schema than this server's is refused whole with 409 `schema_version_unsupported`, and the phone
keeps its outbox until the server is upgraded (docs/sync-protocol.md, "Version skew").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from backend.errors import DomainError

PROTOCOL = "fieldlog-sync/1"
# The newest entry schema this server reads; a phone sends the one it writes with every push.
SCHEMA_VERSION = 1

MutationKind = Literal["create", "update", "delete", "submit"]
Outcome = Literal["applied", "duplicate", "conflict", "locked", "rejected"]


class FieldErrorOut(msgspec.Struct, kw_only=True):
    field: str
    code: str
    message: str


class Mutation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One queued change. `seq` is the device's strictly increasing mutation number (1, 2, 3, ...)."""

    seq: Annotated[int, msgspec.Meta(ge=1)]
    kind: MutationKind
    record_id: uuid.UUID
    base_version: int | None = None
    # For create/update: the entry content as in EntryCreate/EntryPatch (update sends only changed keys).
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    queued_at: datetime | None = None


class PushRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    request_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    device_id: Annotated[str, msgspec.Meta(min_length=8, max_length=100)]
    app_version: str | None = None
    schema_version: Annotated[int, msgspec.Meta(ge=1)] = 1
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
    schema_version: int = SCHEMA_VERSION  # the newest `schema_version` a push may carry


class SchemaVersionUnsupported(DomainError):
    """The phone writes a newer schema than this server reads: hold the outbox (nothing is lost), retry later."""

    status = 409
    type_slug = "schema-version-unsupported"
    title = "The app is newer than the server"


class _VersionProbe(msgspec.Struct):
    """Only the schema version of a push, read from a body the strict decoder refused."""

    schema_version: Any = 1


def check_schema_version(version: object) -> None:
    """Refuse a push written for a schema newer than SCHEMA_VERSION, telling the phone to keep its outbox."""
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise SchemaVersionUnsupported(
            f"This push is written for schema {version}; this server reads up to schema {SCHEMA_VERSION}. "
            "Keep the outbox and push it again after the server is upgraded",
            extra={"reason": "schema_version_unsupported", "server_schema_version": SCHEMA_VERSION,
                   "action": "hold_outbox"})


def probe_schema_version(body: bytes) -> object:
    """The `schema_version` a push body claims, however wrong the rest of it is (None if unreadable)."""
    try:
        return msgspec.json.decode(body, type=_VersionProbe).schema_version
    except msgspec.DecodeError:
        return None
