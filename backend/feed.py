"""The per-user change feed that pulls read: every write that a phone must learn about touches it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# pg_current_xact_id() is the id of the writing transaction; pulls compare it with snapshots, so a change
# committed late by a transaction that started early is still delivered (see sync/pull.py).
_TOUCH = text(
    """
    INSERT INTO sync_feed (user_id, kind, record_id, xid, op, changed_at)
    SELECT u, :kind, r, pg_current_xact_id()::text::bigint, :op, now()
    FROM unnest(CAST(:users AS uuid[]), CAST(:records AS text[])) AS t(u, r)
    ON CONFLICT (user_id, kind, record_id)
    DO UPDATE SET xid = EXCLUDED.xid, op = EXCLUDED.op, changed_at = EXCLUDED.changed_at
    """
)


async def touch(
    session: AsyncSession, user_id: uuid.UUID, kind: str, record_ids: Iterable[object], *, op: str = "upsert"
) -> None:
    """Mark records as changed for one user (kind: entry, deployment, mutation, profile)."""
    records = [str(r) for r in record_ids]
    if records:
        await session.execute(_TOUCH, {"kind": kind, "op": op, "users": [user_id] * len(records), "records": records})


async def touch_many(session: AsyncSession, pairs: Iterable[tuple[uuid.UUID, object]], kind: str, *,
                     op: str = "upsert") -> None:
    """Mark (user, record) pairs as changed, in one statement."""
    items = list(pairs)
    if items:
        await session.execute(
            _TOUCH, {"kind": kind, "op": op, "users": [u for u, _ in items], "records": [str(r) for _, r in items]}
        )
