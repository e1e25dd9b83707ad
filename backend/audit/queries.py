"""Reading the audit trail: an object's history for admins (all) and supervisors (their hospitals)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.models import AuditEvent


class AuditEventOut(msgspec.Struct, kw_only=True):
    seq: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    action: str
    object_type: str
    object_id: str
    institution_id: uuid.UUID | None
    request_id: str | None
    origin: str | None
    before_digest: str | None
    after_digest: str | None
    detail: dict[str, Any]
    hash: str


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditEventOut]
    next_after_seq: int | None


def audit_scope(principal: Principal) -> ColumnElement[bool]:
    """Events the caller may read: all for admins, those at supervised hospitals for supervisors."""
    if principal.is_admin:
        return true()
    if principal.supervised:
        return AuditEvent.institution_id.in_(principal.supervised)
    return false()


def event_out(row: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        seq=row.seq, occurred_at=row.occurred_at, actor_id=row.actor_id, actor_role=row.actor_role,
        action=row.action, object_type=row.object_type, object_id=row.object_id,
        institution_id=row.institution_id, request_id=row.request_id, origin=row.origin,
        before_digest=row.before_digest, after_digest=row.after_digest, detail=row.detail, hash=row.hash,
    )


async def object_events(session: AsyncSession, object_type: str, object_id: str) -> list[AuditEventOut]:
    """Every event of one object in chain order; the caller has already checked it may see the object."""
    rows = await session.execute(
        select(AuditEvent).where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(AuditEvent.seq)
    )
    return [event_out(r) for r in rows.scalars()]


async def list_events(
    session: AsyncSession,
    principal: Principal,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> AuditPage:
    """Events in the caller's scope, oldest first, paged by seq."""
    query = select(AuditEvent).where(audit_scope(principal))
    if object_type is not None:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    if after_seq is not None:
        query = query.where(AuditEvent.seq > after_seq)
    rows = list((await session.execute(query.order_by(AuditEvent.seq).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(items=[event_out(r) for r in rows], next_after_seq=rows[-1].seq if more and rows else None)
