"""Push of updates, deletes and submits: three-way merge, locks, clocks, disabled accounts, expired tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from backend.models import Device, Entry, SyncMutation, User
from tests.sync import clinic, outcomes, phone


async def _server_edit(client: Any, p: Any, rid: uuid.UUID, data: dict[str, Any], base: int) -> int:
    """A change made on the server side (another phone of the same expert)."""
    other = await phone(client, p.username)
    reply = await other.push([other.mutation("update", rid, data, base_version=base)])
    assert outcomes(reply) == ["applied"], reply
    return int(reply["results"][0]["version"])


async def test_one_sided_changes_merge(client: Any, world: Any, session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    rid = uuid.uuid4()
    await p.push([p.mutation("create", rid, clinic(world.deployment_a.id))])
    await _server_edit(client, p, rid, {"fields": {"session": "am", "patients_first_visit": 30}}, 1)
    reply = await p.push([p.mutation("update", rid, {"note": "下午补记", "fields": {"patients_follow_up": 4}},
                                     base_version=1)])
    assert outcomes(reply) == ["applied"]
    assert reply["results"][0]["version"] == 3
    entry = (await session.execute(select(Entry).where(Entry.id == rid))).scalar_one()
    assert entry.note == "下午补记"
    assert entry.fields == {"session": "am", "patients_first_visit": 30, "patients_follow_up": 4}


async def test_the_same_field_changed_on_both_sides_is_a_conflict(client: Any, world: Any, session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    rid = uuid.uuid4()
    await p.push([p.mutation("create", rid, clinic(world.deployment_a.id))])
    await _server_edit(client, p, rid, {"fields": {"session": "am", "patients_first_visit": 30}, "note": "a"}, 1)
    reply = await p.push([p.mutation("update", rid, {"fields": {"session": "am", "patients_first_visit": 31},
                                                     "note": "a"}, base_version=1)])
    result = reply["results"][0]
    assert result["outcome"] == "conflict"
    assert result["reason"] == "edit_conflict"
    assert [e["field"] for e in result["errors"]] == ["fields.patients_first_visit"]  # same note on both: fine
    assert result["server_copy"]["fields"]["patients_first_visit"] == 30
    assert result["server_copy"]["version"] == 2
    assert (await session.execute(select(Entry.version).where(Entry.id == rid))).scalar_one() == 2


async def test_update_and_delete_of_a_submitted_entry_are_locked(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    rid = uuid.uuid4()
    reply = await p.push([p.mutation("create", rid, clinic(world.deployment_a.id)),
                          p.mutation("submit", rid, base_version=1),
                          p.mutation("update", rid, {"note": "x"}, base_version=2),
                          p.mutation("delete", rid, base_version=2)])
    assert outcomes(reply) == ["applied", "applied", "locked", "locked"], reply
    assert {r.get("reason") for r in reply["results"][2:]} == {"under_review"}


async def test_delete_is_applied_then_a_resent_delete_is_a_duplicate(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    rid = uuid.uuid4()
    reply = await p.push([p.mutation("create", rid, clinic(world.deployment_a.id)),
                          p.mutation("delete", rid, base_version=1),
                          p.mutation("delete", rid)])
    assert outcomes(reply) == ["applied", "applied", "duplicate"]


async def test_far_future_device_clock_is_refused_with_the_field(client: Any, world: Any, session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    future = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    problem = await p.push([p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))], expect=422,
                           device_time=future)
    assert problem["errors"][0]["field"] == "device_time"
    assert (await session.get(Device, p.device_id)).last_ack_seq == 0


async def test_a_slow_clock_is_recorded_as_skew_and_never_decides(client: Any, world: Any, session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    slow = (datetime.now(UTC) - timedelta(hours=5)).isoformat()
    await p.push([p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))], device_time=slow,
                 pending_count=7, oldest_pending_at=slow)
    device = await session.get(Device, p.device_id)
    assert -5 * 3600_000 - 60_000 < device.clock_skew_ms < -5 * 3600_000 + 60_000
    assert device.pending_count == 6
    assert device.oldest_pending_at is not None
    health = (await client.get("/api/v1/sync/devices", headers=await world.headers(client, "supervisor_a"))).json()
    assert [d["device_id"] for d in health] == [p.device_id]
    assert health[0]["pending_count"] == 6
    assert (await client.get("/api/v1/sync/devices", headers=await world.headers(client, "supervisor_b"))).json() == []


async def test_a_disabled_users_pushes_are_quarantined_not_dropped(client: Any, world: Any, session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    await session.execute(update(User).where(User.id == world.expert_a.id).values(is_active=False))
    await session.commit()
    rid = uuid.uuid4()
    reply = await p.push([p.mutation("create", rid, clinic(world.deployment_a.id))])
    assert outcomes(reply) == ["rejected"]
    assert reply["results"][0]["reason"] == "quarantined"
    assert reply["acknowledged_seq"] == 1
    kept = await session.get(SyncMutation, (p.device_id, 1))
    assert kept.quarantined
    assert kept.payload["record_id"] == str(rid)
    assert await session.get(Entry, rid) is None
    admin = await world.headers(client, "admin")
    listed = (await client.get("/api/v1/sync/rejected", headers=admin)).json()
    assert [(r["record_id"], r["quarantined"]) for r in listed] == [(str(rid), True)]


async def test_expired_token_then_refresh_replays_the_same_batch_once(client: Any, world: Any, session: Any,
                                                                      db: Any) -> None:
    p = await phone(client, world.expert_a.username)
    body = p.body([p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))])
    claims = db.signer.verify(p.headers["Authorization"].split()[1])
    expired = db.signer.issue(claims.user_id, claims.device_id, claims.session_id,
                              now=datetime.now(UTC) - timedelta(hours=2))
    response = await client.post("/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["reason"] == "token_expired"
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": p.refresh_token,
                                                                "device_id": p.device_id})
    p.headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    first = await p.push_body(body)
    again = await p.push_body(body)
    assert outcomes(first) == outcomes(again) == ["applied"]
    assert len((await session.execute(select(Entry.id))).all()) == 1


async def test_a_device_of_someone_else_or_another_token_is_refused(client: Any, world: Any) -> None:
    a = await phone(client, world.expert_a.username)
    b = await phone(client, world.expert_b.username)
    problem = await a.push_body(b.body([]) | {"device_id": b.device_id}, expect=403)
    assert problem["reason"] == "device_not_registered"
    a2 = await phone(client, world.expert_a.username)
    problem = await a.push_body(a.body([]) | {"device_id": a2.device_id}, expect=409)
    assert problem["reason"] == "device_mismatch"
