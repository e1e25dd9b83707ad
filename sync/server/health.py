"""Read side for people: each device's sync health, and the mutations the server refused or quarantined."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import String, cast, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.models import Deployment, Device, SyncMutation, User
from backend.scope import expert_scope


class DeviceHealth(msgspec.Struct, kw_only=True):
    """What a supervisor needs to see who has not synced for days."""

    device_id: str
    user_id: uuid.UUID
    user_name: str
    app_version: str | None
    registered_at: datetime
    last_sync_at: datetime | None
    last_seen_at: datetime | None
    last_device_time: datetime | None
    clock_skew_ms: int | None
    pending_count: int | None
    oldest_pending_at: datetime | None
    last_ack_seq: int


class RefusedMutation(msgspec.Struct, kw_only=True):
    """A mutation acknowledged as rejected (or quarantined), with what the phone sent and why it was refused."""

    device_id: str
    seq: int
    user_id: uuid.UUID
    kind: str
    record_id: uuid.UUID | None
    reason: str | None
    errors: list[dict[str, Any]]
    payload: dict[str, Any] | None
    quarantined: bool
    created_at: datetime


async def device_health(session: AsyncSession, principal: Principal, *, limit: int = 200) -> list[DeviceHealth]:
    """Devices of the experts in the caller's scope, least recently synced first."""
    rows = await session.execute(
        select(Device, User.name).join(User, User.id == Device.user_id).where(expert_scope(principal))
        .order_by(Device.last_sync_at.asc().nullsfirst(), Device.id).limit(limit)
    )
    return [DeviceHealth(device_id=d.id, user_id=d.user_id, user_name=name, app_version=d.app_version,
                         registered_at=d.registered_at, last_sync_at=d.last_sync_at, last_seen_at=d.last_seen_at,
                         last_device_time=d.last_device_time, clock_skew_ms=d.clock_skew_ms,
                         pending_count=d.pending_count, oldest_pending_at=d.oldest_pending_at,
                         last_ack_seq=d.last_ack_seq) for d, name in rows]


async def refused_mutations(session: AsyncSession, principal: Principal, *, expert_id: uuid.UUID | None = None,
                            limit: int = 100) -> list[RefusedMutation]:
    """Rejected and quarantined mutations: the expert's own; a supervisor's where the entry names the sender's
    own deployment at a hospital they supervise (the only place a refused entry says where it was); all for
    admins."""
    scope: Any
    if principal.is_admin:
        scope = SyncMutation.outcome == "rejected"
    else:
        clauses: list[Any] = []
        if principal.is_expert:
            clauses.append(SyncMutation.user_id == principal.user_id)
        if principal.supervised:
            # The payload is what the phone sent: it counts only when it names a deployment of the sender's own
            # at a supervised hospital, so nobody can place their refusals in (or read them from) another's view.
            deployment_ref = SyncMutation.payload["data"]["deployment_id"].astext
            clauses.append(exists().where(
                cast(Deployment.id, String) == deployment_ref, Deployment.expert_id == SyncMutation.user_id,
                Deployment.recipient_id.in_(principal.supervised), Deployment.status != "cancelled"))
        scope = or_(*clauses) if clauses else false()
    query = select(SyncMutation).where(SyncMutation.outcome == "rejected", scope)
    if expert_id is not None:
        query = query.where(SyncMutation.user_id == expert_id)
    rows = (await session.execute(query.order_by(SyncMutation.created_at.desc(), SyncMutation.device_id,
                                                 SyncMutation.seq.desc()).limit(limit))).scalars()
    return [RefusedMutation(device_id=r.device_id, seq=r.seq, user_id=r.user_id, kind=r.kind, record_id=r.record_id,
                            reason=r.result.get("reason"), errors=r.result.get("errors", []), payload=r.payload,
                            quarantined=r.quarantined, created_at=r.created_at) for r in rows]
