"""Append events to the hash-chained audit trail in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any, Final

import msgspec
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.audit.chain import GENESIS_HASH, AuditRecord, record_digest, seal
from backend.auth.principal import Principal
from backend.http.context import origin_var, request_id_var
from backend.models import AuditEvent, AuditPending

# One constant key for the whole trail. Events are first staged in `audit_pending` (no lock, and they vanish
# with a rolled-back savepoint); just before the transaction commits, `seal_pending` takes this lock, reads
# the head of the chain and appends the staged events. The lock is held only from sealing to commit, so
# concurrent writers no longer serialise for the whole length of their transactions.
AUDIT_LOCK_KEY: Final = 0x61756469_74_01  # "audit" 1
PENDING_FLAG: Final = "audit_pending"

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
# A separate statement after the lock: under READ COMMITTED each statement takes a new snapshot, so this
# one sees the event a concurrent writer committed while we waited (one statement would not).
_HEAD = text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
_STAGED = text(
    """
    DELETE FROM audit_pending WHERE txid = (pg_current_xact_id()::text)::bigint
    RETURNING id, occurred_at, actor_id, actor_role, action, object_type, object_id, institution_id,
              request_id, origin, before_digest, after_digest, detail
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
    await session.execute(
        insert(AuditPending).values(
            actor_id=actor.user_id if actor is not None else None,
            actor_role=role or (actor.primary_role if actor is not None else "system"),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            institution_id=institution_id,
            request_id=request_id_var.get(),
            origin=origin_of(actor),
            before_digest=record_digest(before),
            after_digest=record_digest(after),
            detail=msgspec.to_builtins(detail or {}),
        )
    )
    session.info[PENDING_FLAG] = True


def seal_pending(session: Session) -> None:
    """Append this transaction's staged events to the chain (runs in `before_commit`, inside the transaction).

    SQLAlchemy also fires `before_commit` when a savepoint is released; sealing then would take the chain's
    lock while the outer transaction still has work to do, so only the outermost commit seals.
    """
    if session.in_nested_transaction():
        return
    if not session.info.pop(PENDING_FLAG, False):
        return
    staged = session.execute(_STAGED).all()
    if not staged:
        return
    session.execute(_LOCK, {"key": AUDIT_LOCK_KEY})
    head = session.execute(_HEAD).one_or_none()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    rows = []
    for row in sorted(staged, key=lambda r: r.id):
        seq += 1
        event = seal(
            AuditRecord(
                occurred_at=row.occurred_at, actor_id=row.actor_id, actor_role=row.actor_role, action=row.action,
                object_type=row.object_type, object_id=row.object_id, request_id=row.request_id,
                origin=row.origin, before_digest=row.before_digest, after_digest=row.after_digest,
                detail=row.detail,
            ),
            seq=seq,
            prev_hash=prev,
        )
        values = msgspec.structs.asdict(event)
        values["institution_id"] = row.institution_id
        rows.append(values)
        prev = event.hash
    session.execute(insert(AuditEvent), rows)


# Every session (request-scoped, CLI, jobs) seals its staged events as it commits.
event.listen(Session, "before_commit", seal_pending)
