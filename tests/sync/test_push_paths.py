"""Push's two write paths: the set-based fast path and the per-mutation fallback, and audit sealing."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select

from backend.models import AuditEvent, AuditPending, Device, Entry, EntryVersion, SyncMutation
from sync.server import bulk
from tests.sync import clinic, outcomes, phone


async def test_a_failing_set_based_write_redoes_the_push_one_by_one(client: Any, world: Any, session: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    original = bulk._insert

    async def write_then_fail(*args: Any) -> Any:
        await original(*args)  # the rows are written, then the statement "fails": none of it may stay
        raise asyncpg.exceptions.CheckViolationError("simulated failure of the set-based insert")

    monkeypatch.setattr(bulk, "_insert", write_then_fail)
    p = await phone(client, world.expert_a.username)
    mutations = [p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, date.today() - timedelta(days=n)))
                 if n != 3 else p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, fields={"session": "xx"}))
                 for n in range(1, 6)]
    reply = await p.push(mutations)
    assert outcomes(reply) == ["applied", "applied", "rejected", "applied", "applied"]
    assert reply["acknowledged_seq"] == 5
    assert await session.scalar(select(func.count()).select_from(Entry)) == 4
    assert await session.scalar(select(func.count()).select_from(EntryVersion)) == 4
    assert await session.scalar(select(func.count()).select_from(SyncMutation)) == 5
    assert (await session.get(Device, p.device_id)).last_ack_seq == 5


async def test_updates_in_one_push_are_audited_once_each_and_sealed_at_commit(client: Any, world: Any,
                                                                              session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    ids = [uuid.uuid4() for _ in range(3)]
    await p.push([p.mutation("create", i, clinic(world.deployment_a.id, date.today() - timedelta(days=n + 1)))
                  for n, i in enumerate(ids)])
    reply = await p.push([p.mutation("update", ids[0], {"note": "一"}, base_version=1),
                          p.mutation("update", ids[1], {"note": "二"}, base_version=7),  # unknown base: refused
                          p.mutation("update", ids[2], {"note": "三"}, base_version=1)])
    assert outcomes(reply) == ["applied", "conflict", "applied"]
    updates = (await session.execute(select(AuditEvent.object_id, AuditEvent.seq)
                                     .where(AuditEvent.action == "entry.update").order_by(AuditEvent.seq))).all()
    assert [u.object_id for u in updates] == [str(ids[0]), str(ids[2])]
    assert await session.scalar(select(func.count()).select_from(AuditPending)) == 0
