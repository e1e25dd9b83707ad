"""What a pull sends for each kind of record, loaded in bulk and always through the caller's scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.models import Deployment, Entry, Institution, SyncMutation
from backend.worklog.rules import editable_window
from backend.worklog.views import entry_views
from sync.server.protocol import PullChange


def pull_scope(principal: Principal) -> ColumnElement[bool]:
    """The entries a phone holds: the caller's own, and those at hospitals the caller supervises.

    Narrower than the web's entry_scope on purpose: HR and admins do not carry a province on a phone.
    """
    clauses: list[ColumnElement[bool]] = [Entry.expert_id == principal.user_id]
    if principal.supervised:
        clauses.append(Entry.institution_id.in_(principal.supervised))
    return or_(*clauses)


def _mutation_key(record_id: str) -> tuple[str, int] | None:
    device_id, _, seq = record_id.rpartition(":")
    return (device_id, int(seq)) if device_id and seq.isdigit() else None


async def entry_changes(session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID], grace_days: int
                        ) -> dict[str, PullChange]:
    if not ids:
        return {}
    rows = list((await session.execute(select(Entry).where(Entry.id.in_(ids), pull_scope(principal)))).scalars())
    live = [e for e in rows if e.deleted_at is None]
    return {str(v.id): PullChange(kind="entry", id=str(v.id), op="upsert", data=msgspec.to_builtins(v))
            for v in await entry_views(session, live, grace_days)}


def _deployment_data(row: Any, grace_days: int) -> dict[str, Any]:
    first, last = editable_window(row.starts_on, row.planned_end, row.actual_end, grace_days)
    return msgspec.to_builtins({
        "id": row.id, "expert_id": row.expert_id, "recipient_id": row.recipient_id, "recipient_name": row.name,
        "timezone": row.timezone, "department": row.department, "post": row.post, "starts_on": row.starts_on,
        "planned_end": row.planned_end, "actual_end": row.actual_end, "status": row.status,
        "editable_from": first, "editable_until": last,
    })


_DEPLOYMENT_COLUMNS = (Deployment.id, Deployment.expert_id, Deployment.recipient_id, Institution.name,
                       Institution.timezone, Deployment.department, Deployment.post, Deployment.starts_on,
                       Deployment.planned_end, Deployment.actual_end, Deployment.status)


async def deployment_changes(session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID] | None,
                             grace_days: int, *, after: str | None = None, limit: int | None = None
                             ) -> dict[str, PullChange]:
    """The caller's own deployments (by id, or all of them in id order from `after`)."""
    query = (select(*_DEPLOYMENT_COLUMNS).join(Institution, Institution.id == Deployment.recipient_id)
             .where(Deployment.expert_id == principal.user_id))
    if ids is not None:
        if not ids:
            return {}
        query = query.where(Deployment.id.in_(ids))
    if after:
        query = query.where(Deployment.id > uuid.UUID(after))
    if limit is not None:
        query = query.order_by(Deployment.id).limit(limit)
    return {str(r.id): PullChange(kind="deployment", id=str(r.id), op="upsert", data=_deployment_data(r, grace_days))
            for r in await session.execute(query)}


def mutation_data(row: Any) -> dict[str, Any]:
    return msgspec.to_builtins({
        "device_id": row.device_id, "seq": row.seq, "kind": row.kind, "record_id": row.record_id,
        "outcome": row.outcome, "result": row.result, "payload": row.payload, "quarantined": row.quarantined,
        "created_at": row.created_at,
    })


async def mutation_changes(session: AsyncSession, principal: Principal, record_ids: Sequence[str] | None, *,
                           after: str | None = None, limit: int | None = None) -> dict[str, PullChange]:
    """The caller's rejected mutations (by feed id `device:seq`, or all in order from `after`)."""
    query = select(SyncMutation).where(SyncMutation.user_id == principal.user_id, SyncMutation.outcome == "rejected")
    if record_ids is not None:
        keys = [k for k in (_mutation_key(r) for r in record_ids) if k is not None]
        if not keys:
            return {}
        query = query.where(tuple_(SyncMutation.device_id, SyncMutation.seq).in_(keys))
    if after:
        key = _mutation_key(after)
        if key is not None:
            query = query.where(tuple_(SyncMutation.device_id, SyncMutation.seq) > tuple_(literal(key[0]),
                                                                                        literal(key[1])))
    if limit is not None:
        query = query.order_by(SyncMutation.device_id, SyncMutation.seq).limit(limit)
    result = {}
    for row in (await session.execute(query)).scalars():
        rid = f"{row.device_id}:{row.seq}"
        result[rid] = PullChange(kind="mutation", id=rid, op="upsert", data=mutation_data(row))
    return result
