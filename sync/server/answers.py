"""Turning a mutation's fate into its answer, and storing answers in the same transaction as their effects."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, DomainError, FieldError, InvalidInput, Locked, NotFound
from sync.server.protocol import FieldErrorOut, Mutation, MutationResult


async def raw_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the request's session, inside its transaction.

    The SQLAlchemy adapter opens the database transaction lazily on its first statement, so the caller must have
    run one statement through the session first: a raw statement before it would run in autocommit and survive
    a rollback. Checked here, because that mistake would be silent.
    """
    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        await session.execute(text("SELECT 1"))
    return raw


def field_errors(errors: list[FieldError]) -> list[FieldErrorOut]:
    return [FieldErrorOut(field=e.field, code=e.code, message=e.message) for e in errors]


def applied(m: Mutation, version: int | None) -> MutationResult:
    return MutationResult(seq=m.seq, record_id=m.record_id, outcome="applied", version=version)


def rejected(m: Mutation, errors: list[FieldError], reason: str = "invalid") -> MutationResult:
    return MutationResult(seq=m.seq, record_id=m.record_id, outcome="rejected", reason=reason,
                          errors=field_errors(errors))


def from_error(m: Mutation, exc: DomainError) -> MutationResult:
    """The per-mutation answer for a domain error raised while applying it (its savepoint is rolled back)."""
    reason = str(exc.extra.get("reason") or exc.type_slug)
    current = exc.extra.get("current")
    copy = msgspec.to_builtins(current) if current is not None else None
    if isinstance(exc, Locked):
        return MutationResult(seq=m.seq, record_id=m.record_id, outcome="locked", reason=reason, server_copy=copy)
    if isinstance(exc, Conflict):
        errors = [FieldErrorOut(field=f, code="edited_on_both_sides",
                                message="Changed on the phone and on the server to different values")
                  for f in exc.extra.get("fields", [])]
        return MutationResult(seq=m.seq, record_id=m.record_id, outcome="conflict", reason=reason, errors=errors,
                              server_copy=copy)
    if isinstance(exc, NotFound):
        # Another person's record answers exactly like a record that does not exist.
        return rejected(m, [FieldError(field="record_id", code="not_found", message="No such entry of yours")],
                        "not_found")
    if isinstance(exc, InvalidInput):
        return rejected(m, exc.errors)
    return rejected(m, exc.errors or [FieldError(field="record_id", code=reason, message=exc.detail)], reason)


# One round trip ends a push: the answers, the feed rows of refused mutations (pulls send them to the phone)
# and the device's acknowledged number and health. The feed part is backend.feed's touch, inlined. The answers
# travel as one JSON document ($4), written by msgspec in one call.
_FINISH = """
WITH t AS (
    SELECT * FROM json_to_recordset($4::text::json) AS t(s bigint, k text, r uuid, o text, res jsonb, p jsonb)
), stored AS (
    INSERT INTO sync_mutations (device_id, seq, user_id, request_id, kind, record_id, outcome, result, payload,
                                quarantined, created_at)
    SELECT $1, s, $2, $3, k, r, o, res, p, $5, now() FROM t
), touched AS (
    INSERT INTO sync_feed (user_id, kind, record_id, xid, op, changed_at)
    SELECT $2, 'mutation', $1 || ':' || s, pg_current_xact_id()::text::bigint, 'upsert', now()
    FROM t WHERE o = 'rejected' AND NOT $5
    ON CONFLICT (user_id, kind, record_id)
    DO UPDATE SET xid = EXCLUDED.xid, op = EXCLUDED.op, changed_at = EXCLUDED.changed_at
)
UPDATE devices SET last_ack_seq = GREATEST(last_ack_seq, $6), last_sync_at = now(), last_seen_at = now(),
       last_device_time = COALESCE($7, last_device_time), clock_skew_ms = COALESCE($8, clock_skew_ms),
       pending_count = $9, oldest_pending_at = $10, app_version = COALESCE($11, app_version)
WHERE id = $1
"""

_KEEP_PAYLOAD = ("rejected", "conflict", "locked")


@dataclass(frozen=True)
class DeviceHealth:
    """What a push records about the phone besides its answers."""

    acked: int
    device_time: datetime | None
    clock_skew_ms: int | None
    pending: int | None
    oldest_pending_at: datetime | None
    app_version: str | None


async def store_answers(raw: Any, device_id: str, user_id: uuid.UUID, request_id: str,
                        answered: list[tuple[Mutation, MutationResult]], health: DeviceHealth, *,
                        quarantined: bool) -> None:
    """Refused mutations keep their payload so people can see what was sent; the device row is updated too."""
    rows = [{"s": m.seq, "k": m.kind, "r": m.record_id, "o": r.outcome, "res": r,
             "p": m if r.outcome in _KEEP_PAYLOAD else None} for m, r in answered]
    await raw.execute(
        _FINISH, device_id, user_id, request_id, msgspec.json.encode(rows).decode(), quarantined, health.acked,
        health.device_time, health.clock_skew_ms, health.pending, health.oldest_pending_at, health.app_version,
    )


async def stored_answers(raw: Any, device_id: str, seqs: list[int]) -> dict[int, MutationResult]:
    """The original answers of mutations sent again (the phone lost the reply)."""
    if not seqs:
        return {}
    rows = await raw.fetch("SELECT seq, result::text AS result FROM sync_mutations WHERE device_id = $1 "
                           "AND seq = ANY($2::bigint[])", device_id, seqs)
    found = {}
    for row in rows:
        result = msgspec.json.decode(row["result"], type=MutationResult)
        found[row["seq"]] = msgspec.structs.replace(result, replayed=True)
    return found
