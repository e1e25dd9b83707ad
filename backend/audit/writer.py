"""Append events to the hash-chained audit trail in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any, Final

import msgspec
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.chain import GENESIS_HASH, AuditRecord, record_digest, seal
from backend.auth.principal import Principal
from backend.http.context import origin_var, request_id_var
from backend.models import AuditEvent

# One constant key for the whole trail: every writer serialises on it until its transaction ends, so the
# event it reads as "last" is still the last when it commits and seq + prev_hash form a single chain even
# when transactions run concurrently on several API nodes. The lock is taken on every call, not once per
# transaction: a lock first taken inside a savepoint is released when that savepoint rolls back (checked
# on the bundled PostgreSQL), and the next event must not be written without it.
AUDIT_LOCK_KEY: Final = 0x61756469_74_01  # "audit" 1

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
# A separate statement after the lock: under READ COMMITTED each statement takes a new snapshot, so this
# one sees the event a concurrent writer committed while we waited (one statement would not).
_HEAD = text(
    """
    SELECT clock_timestamp() AS now, last.seq, last.hash
    FROM (SELECT 1) AS one LEFT JOIN LATERAL
         (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1) AS last ON true
    """
)


def origin_of(actor: Principal | None) -> str | None:
    """"device <id> from <address>" for phones, the address alone otherwise (both when known)."""
    address = origin_var.get()
    device = actor.device_id if actor is not None else None
    if device and address:
        return f"device {device} from {address}"[:200]
    return (device and f"device {device}") or address


async def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    institution_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
    role: str | None = None,
) -> None:
    """Write one audit event (request id and origin come from backend.http.context) in the same transaction.

    `role` names the role the actor acted in (a supervisor may also be an expert); by default their
    highest role. `before`/`after` are the record's JSON form; only their digests are stored.
    """
    await session.execute(_LOCK, {"key": AUDIT_LOCK_KEY})
    head = (await session.execute(_HEAD)).one()
    audit_record = AuditRecord(
        occurred_at=head.now,
        actor_id=actor.user_id if actor is not None else None,
        actor_role=role or (actor.primary_role if actor is not None else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        request_id=request_id_var.get(),
        origin=origin_of(actor),
        before_digest=record_digest(before),
        after_digest=record_digest(after),
        detail=detail or {},
    )
    event = seal(audit_record, seq=(head.seq or 0) + 1, prev_hash=head.hash or GENESIS_HASH)
    values = msgspec.structs.asdict(event)
    values["institution_id"] = institution_id
    await session.execute(insert(AuditEvent).values(**values))
