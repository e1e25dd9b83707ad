"""Push: exactly once, per-item answers, set-based creates that never answer for rolled-back rows."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, text

from backend.models import Device, Entry, EntryVersion, SyncFeed, SyncMutation
from tests.sync import clinic, outcomes, phone


async def test_a_batch_of_creates_is_applied_with_versions_feed_and_answers(client: Any, world: Any,
                                                                            session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    ids = [uuid.uuid4() for _ in range(5)]
    days = [date.today() - timedelta(days=i + 1) for i in range(5)]
    reply = await p.push([p.mutation("create", i, clinic(world.deployment_a.id, d)) for i, d in zip(ids, days, strict=False)])
    assert reply["protocol"] == "fieldlog-sync/1"
    assert reply["acknowledged_seq"] == 5
    assert outcomes(reply) == ["applied"] * 5
    assert {r["version"] for r in reply["results"]} == {1}
    assert await session.scalar(select(func.count()).select_from(Entry).where(Entry.id.in_(ids))) == 5
    assert await session.scalar(select(func.count()).select_from(EntryVersion).where(EntryVersion.entry_id.in_(ids))) == 5
    assert await session.scalar(select(func.count()).select_from(SyncFeed).where(
        SyncFeed.user_id == world.expert_a.id, SyncFeed.kind == "entry")) == 5
    assert await session.scalar(select(func.count()).select_from(SyncMutation)) == 5
    device = await session.get(Device, p.device_id)
    assert device.last_ack_seq == 5
    assert device.last_sync_at is not None
    assert device.pending_count == 0


async def test_the_same_batch_sent_twice_is_applied_once_and_answered_the_same(client: Any, world: Any,
                                                                                session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    body = p.body([p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id)),
                   p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, fields={"session": "xx"}))])
    first = await p.push_body(body)
    again = await p.push_body(body)
    assert outcomes(first) == outcomes(again) == ["applied", "rejected"]
    assert [r.get("replayed", False) for r in again["results"]] == [True, True]
    assert again["results"][1]["errors"] == first["results"][1]["errors"]
    assert await session.scalar(select(func.count()).select_from(Entry)) == 1


async def test_reply_lost_then_retried_with_more_is_applied_once(client: Any, world: Any, session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    m1 = p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))
    await p.push([m1])  # the phone never saw this reply
    m2 = p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, date.today() - timedelta(days=2)))
    reply = await p.push([m1, m2])
    assert [(r["seq"], r["outcome"], r.get("replayed", False)) for r in reply["results"]] == [
        (1, "applied", True), (2, "applied", False)]
    assert await session.scalar(select(func.count()).select_from(Entry)) == 2


async def test_a_gap_in_numbers_applies_nothing_from_the_gap(client: Any, world: Any, session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    m1 = p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))
    p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))  # seq 2 lost on the phone's side
    m3 = p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))
    reply = await p.push([m1, m3])
    assert reply["gap"] is True
    assert reply["expected_seq"] == 2
    assert reply["acknowledged_seq"] == 1
    assert [r["seq"] for r in reply["results"]] == [1]
    assert await session.scalar(select(func.count()).select_from(Entry)) == 1


async def test_same_id_with_other_content_is_a_conflict_with_the_server_copy(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    rid = uuid.uuid4()
    await p.push([p.mutation("create", rid, clinic(world.deployment_a.id))])
    reply = await p.push([p.mutation("create", rid, clinic(world.deployment_a.id)),
                          p.mutation("create", rid, clinic(world.deployment_a.id, note="另一个"))])
    assert outcomes(reply) == ["duplicate", "conflict"]
    assert reply["results"][1]["reason"] == "id_conflict"
    assert reply["results"][1]["server_copy"]["note"] == "门诊"


async def test_same_id_twice_in_one_batch_is_decided_against_the_first(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    rid = uuid.uuid4()
    reply = await p.push([p.mutation("create", rid, clinic(world.deployment_a.id)),
                          p.mutation("create", rid, clinic(world.deployment_a.id)),
                          p.mutation("create", rid, clinic(world.deployment_a.id, note="x"))])
    assert outcomes(reply) == ["applied", "duplicate", "conflict"]


async def test_rejected_is_kept_and_does_not_block_the_next(client: Any, world: Any, session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    bad = p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, work_date="2001-01-01"))
    good = p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))
    reply = await p.push([bad, good])
    assert outcomes(reply) == ["rejected", "applied"]
    assert reply["acknowledged_seq"] == 2
    assert {e["code"] for e in reply["results"][0]["errors"]} >= {"before_deployment"}
    kept = await session.get(SyncMutation, (p.device_id, 1))
    assert kept.outcome == "rejected"
    assert kept.payload["data"]["work_date"] == "2001-01-01"
    mine = (await client.get("/api/v1/sync/rejected", headers=p.headers)).json()
    assert [(r["seq"], r["errors"][0]["code"]) for r in mine] == [(1, "before_deployment")]
    sup = await world.headers(client, "supervisor_a")
    assert [r["seq"] for r in (await client.get("/api/v1/sync/rejected", headers=sup)).json()] == [1]
    other = await world.headers(client, "supervisor_b")
    assert (await client.get("/api/v1/sync/rejected", headers=other)).json() == []


async def test_malformed_data_in_one_mutation_is_rejected_field_by_field(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    reply = await p.push([p.mutation("create", uuid.uuid4(), {"deployment_id": str(world.deployment_a.id),
                                                               "work_date": "yesterday", "activity_type": "clinic"}),
                          p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))])
    assert outcomes(reply) == ["rejected", "applied"]
    assert reply["results"][0]["errors"][0]["field"] == "work_date"


async def test_another_users_record_id_leaks_nothing(client: Any, world: Any) -> None:
    a = await phone(client, world.expert_a.username)
    b = await phone(client, world.expert_b.username)
    rid = uuid.uuid4()
    await a.push([a.mutation("create", rid, clinic(world.deployment_a.id, note="秘密"))])
    reply = await b.push([b.mutation("create", rid, clinic(world.deployment_b.id)),
                          b.mutation("update", rid, {"note": "x"}, base_version=1),
                          b.mutation("delete", rid, base_version=1),
                          b.mutation("submit", rid, base_version=1)])
    assert outcomes(reply) == ["conflict", "rejected", "rejected", "rejected"]
    assert "server_copy" not in reply["results"][0]
    assert reply["results"][0]["reason"] == "id_taken"
    assert all(r["reason"] == "not_found" for r in reply["results"][1:])
    assert "秘密" not in str(reply)


async def test_attendance_twice_on_one_day_is_rejected_in_the_same_batch(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    day = (date.today() - timedelta(days=1)).isoformat()
    att = {"deployment_id": str(world.deployment_a.id), "work_date": day, "activity_type": "attendance",
           "fields": {"status": "present"}}
    reply = await p.push([p.mutation("create", uuid.uuid4(), att), p.mutation("create", uuid.uuid4(), att)])
    assert outcomes(reply) == ["applied", "rejected"], reply
    assert reply["results"][1]["errors"][0]["code"] == "attendance_exists"


async def test_month_closed_answers_locked(client: Any, world: Any, session: Any) -> None:
    day = date.today() - timedelta(days=1)
    await session.execute(text("INSERT INTO month_closures (institution_id, month, closed_by) "
                               "VALUES (:i, :m, :u)"), {"i": world.hospital_a.id, "m": day.replace(day=1),
                                                        "u": world.admin.id})
    await session.commit()
    p = await phone(client, world.expert_a.username)
    reply = await p.push([p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, day))])
    assert outcomes(reply) == ["locked"]
    assert reply["results"][0]["reason"] == "month_closed"


async def test_raw_bulk_writes_roll_back_with_the_request(db: Any, world: Any) -> None:
    """The set-based path writes through the session's own transaction, so a failure leaves nothing behind."""
    from backend.auth.principal import Principal
    from sync.server.protocol import Mutation, PushRequest
    from sync.server.push import push

    async with db.sessionmaker() as s:
        s.add(Device(id="device-rollback", user_id=world.expert_a.id))
        await s.commit()
    principal = Principal(user_id=world.expert_a.id, username="x", name="x", device_id="device-rollback",
                          session_id=None, roles=frozenset({"expert"}))
    req = PushRequest(request_id="r", device_id="device-rollback",
                      mutations=[Mutation(seq=1, kind="create", record_id=uuid.uuid4(),
                                          data=clinic(world.deployment_a.id))])
    async with db.sessionmaker() as s:
        reply = await push(s, principal, req, db.settings)
        assert reply.results[0].outcome == "applied"
        await s.rollback()
    async with db.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Entry)) == 0
        assert await s.scalar(select(func.count()).select_from(SyncMutation)) == 0
        assert (await s.get(Device, "device-rollback")).last_ack_seq == 0


async def test_a_refusal_naming_someone_elses_deployment_stays_out_of_that_hospitals_view(
        client: Any, world: Any) -> None:
    b = await phone(client, world.expert_b.username)
    reply = await b.push([b.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))])
    assert outcomes(reply) == ["rejected"]  # deployment_a is not expert_b's
    sup_a = await world.headers(client, "supervisor_a")
    assert (await client.get("/api/v1/sync/rejected", headers=sup_a)).json() == []
    mine = (await client.get("/api/v1/sync/rejected", headers=b.headers)).json()
    assert [r["seq"] for r in mine] == [1]
