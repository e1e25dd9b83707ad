"""Review over HTTP with real tokens: the whole flow, bulk decisions, locks, overdue flags, and scope."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Device, Entry
from tests.factories import World

TODAY = date.today()


def clinic(world: World, who: str = "a", days_ago: int = 3, **kw: Any) -> dict[str, Any]:
    deployment = getattr(world, f"deployment_{who}")
    return {"id": str(uuid.uuid4()), "deployment_id": str(deployment.id),
            "work_date": (TODAY - timedelta(days=days_ago)).isoformat(), "activity_type": "clinic",
            "fields": {"session": "am", "patients_first_visit": 8}, **kw}


async def create(client: Any, world: World, who: str = "expert_a", **kw: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/entries", json=clinic(world, who.removeprefix("expert_"), **kw),
                          headers=await world.headers(client, who))
    assert r.status_code == 201, r.text
    return r.json()


async def submitted(client: Any, world: World, who: str = "expert_a", **kw: Any) -> dict[str, Any]:
    entry = await create(client, world, who, **kw)
    r = await client.post(f"/api/v1/entries/{entry['id']}/submit", json={"expected_version": entry["version"]},
                          headers=await world.headers(client, who))
    assert r.status_code == 200, r.text
    return r.json()


async def decide(client: Any, world: World, who: str, *decisions: dict[str, Any]) -> Any:
    return await client.post("/api/v1/review/decisions", json={"decisions": list(decisions)},
                             headers=await world.headers(client, who))


def approve(entry: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"entry_id": entry["id"], "version": entry["version"], "action": "approve", **kw}


async def test_expert_submits_supervisor_sees_queue_and_decides_in_bulk_with_a_stale_one(
        client: Any, world: World) -> None:
    entries = [await submitted(client, world, days_ago=d) for d in (2, 3, 4)]
    other = await submitted(client, world, "expert_a2")
    queue = (await client.get("/api/v1/review/queue", headers=await world.headers(client, "supervisor_a"))).json()
    assert queue["total"] == 4
    assert queue["counts"] == {"clinic": 4}
    assert {g["expert_id"] for g in queue["groups"]} == {str(world.expert_a.id), str(world.expert_a2.id)}
    mine = [g for g in queue["groups"] if g["expert_id"] == str(world.expert_a.id)]
    assert sum(g["total"] for g in mine) == 3
    assert all(g["week_start"] <= g["items"][0]["work_date"] for g in mine)
    stale = {**approve(entries[1]), "version": entries[1]["version"] - 1}
    r = await decide(client, world, "supervisor_a", approve(entries[0]), stale,
                     {"entry_id": entries[2]["id"], "version": entries[2]["version"], "action": "return",
                      "comment": "请补充患者数"}, approve(other))
    assert r.status_code == 200, r.text
    assert [x["outcome"] for x in r.json()["results"]] == ["applied", "stale_version", "applied", "applied"]
    expert = await world.headers(client, "expert_a")
    states = [(await client.get(f"/api/v1/entries/{e['id']}", headers=expert)).json() for e in entries]
    assert [(s["status"], s["lock_reason"]) for s in states] == [
        ("approved", "approved"), ("submitted", "under_review"), ("returned", None)]
    assert states[2]["review_comment"] == "请补充患者数"
    history = (await client.get(f"/api/v1/entries/{entries[0]['id']}/history", headers=expert)).json()
    assert [v["change"] for v in history["versions"]] == ["create", "submit", "approve"]
    assert [e["action"] for e in history["events"]] == ["entry.create", "entry.submit", "entry.approve"]
    assert history["events"][-1]["actor_role"] == "supervisor"
    assert history["events"][-1]["request_id"]


async def test_a_locked_edit_arriving_from_the_phone_answers_locked_with_its_reason(
        client: Any, world: World) -> None:
    entry = await submitted(client, world)
    expert = await world.headers(client, "expert_a")
    r = await client.patch(f"/api/v1/entries/{entry['id']}", json={"note": "x"},
                           headers={**expert, "If-Match": str(entry["version"])})
    assert (r.status_code, r.json()["reason"]) == (409, "under_review")
    done = (await decide(client, world, "supervisor_a", approve(entry))).json()["results"][0]
    r = await client.patch(f"/api/v1/entries/{entry['id']}", json={"note": "x"},
                           headers={**expert, "If-Match": str(done["version"])})
    assert r.status_code == 409
    assert r.json()["type"].endswith(":locked")
    assert r.json()["reason"] == "approved"
    revision = clinic(world, days_ago=3, note="更正")
    r = await client.post(f"/api/v1/entries/{entry['id']}/revisions", json=revision, headers=expert)
    assert r.status_code == 201
    assert r.json()["revision_of"] == entry["id"]
    assert r.json()["status"] == "draft"
    assert (await client.post(f"/api/v1/entries/{entry['id']}/revisions", json=revision,
                              headers=expert)).status_code == 200  # the same request again


async def test_decision_input_is_checked_whole(client: Any, world: World) -> None:
    entry = await submitted(client, world)
    no_comment = await decide(client, world, "supervisor_a", {**approve(entry), "action": "return"})
    assert no_comment.status_code == 422
    assert no_comment.json()["errors"][0]["field"] == "decisions[0].comment"
    too_many = await decide(client, world, "supervisor_a", *[approve(entry)] * 501)
    assert too_many.status_code == 422
    unknown = await decide(client, world, "supervisor_a", {**approve(entry), "surprise": 1})
    assert unknown.status_code == 422
    assert (await decide(client, world, "expert_a", approve(entry))).status_code == 403


async def test_overdue_entries_and_silent_phones_are_flagged(client: Any, world: World, session: AsyncSession
                                                             ) -> None:
    old = await submitted(client, world)
    await submitted(client, world, "expert_a2")
    long_ago = datetime.now(UTC) - timedelta(days=20)
    await session.execute(update(Entry).where(Entry.id == uuid.UUID(old["id"])).values(submitted_at=long_ago))
    # expert_a2's phone synced recently; expert_a's last sync is older than the limit.
    await session.execute(update(Device).where(Device.user_id == world.expert_a.id).values(last_sync_at=long_ago))
    await session.execute(update(Device).where(Device.user_id == world.expert_a2.id)
                          .values(last_sync_at=datetime.now(UTC)))
    await session.commit()
    queue = (await client.get("/api/v1/review/queue", headers=await world.headers(client, "supervisor_a"))).json()
    assert queue["overdue"] == 1
    assert queue["oldest_pending_days"] == 20
    by_expert = {g["expert_id"]: g for g in queue["groups"]}
    a = by_expert[str(world.expert_a.id)]
    assert a["overdue"] == 1
    assert a["items"][0]["overdue"]
    assert a["expert_sync_overdue"]
    assert not by_expert[str(world.expert_a2.id)]["expert_sync_overdue"]
    assert [s["expert_id"] for s in queue["silent_experts"]] == [str(world.expert_a.id)]
    filtered = (await client.get("/api/v1/review/queue", params={"expert_id": str(world.expert_a2.id),
                                                                 "activity_type": "clinic"},
                                 headers=await world.headers(client, "supervisor_a"))).json()
    assert filtered["total"] == 1
    assert filtered["silent_experts"] == []


async def test_admin_closes_and_reopens_a_month(client: Any, world: World) -> None:
    entry = await create(client, world, days_ago=0)
    month = TODAY.strftime("%Y-%m")
    body = {"institution_id": str(world.hospital_a.id), "month": month, "reason": "月度结算"}
    admin = await world.headers(client, "admin")
    assert (await client.post("/api/v1/admin/months/close", json=body,
                              headers=await world.headers(client, "supervisor_a"))).status_code == 403
    closed = await client.post("/api/v1/admin/months/close", json=body, headers=admin)
    assert closed.status_code == 200
    assert closed.json()["closed"]
    assert closed.json()["entries"] == 1
    assert (await client.post("/api/v1/admin/months/close", json=body, headers=admin)).status_code == 409
    expert = await world.headers(client, "expert_a")
    seen = (await client.get(f"/api/v1/entries/{entry['id']}", headers=expert)).json()
    assert (seen["locked"], seen["lock_reason"]) == (True, "month_closed")
    r = await client.post(f"/api/v1/entries/{entry['id']}/submit", json={}, headers=expert)
    assert (r.status_code, r.json()["reason"]) == (409, "month_closed")
    assert (await client.post("/api/v1/admin/months/reopen", json={**body, "reason": None},
                              headers=admin)).status_code == 422
    assert (await client.post("/api/v1/admin/months/reopen", json=body, headers=admin)).json()["closed"] is False
    assert (await client.post(f"/api/v1/entries/{entry['id']}/submit", json={}, headers=expert)).status_code == 200
    events = (await client.get("/api/v1/audit", params={"object_type": "month"}, headers=admin)).json()["items"]
    assert [e["action"] for e in events] == ["month.close", "month.reopen"]


async def test_every_review_route_keeps_to_the_callers_hospitals(client: Any, world: World) -> None:
    a_entry = await submitted(client, world)
    b_entry = await submitted(client, world, "expert_b")
    sup_b = await world.headers(client, "supervisor_b")
    # Queue: B's supervisor never sees A's entries, even when asking for hospital A.
    queue = (await client.get("/api/v1/review/queue", params={"institution_id": str(world.hospital_a.id)},
                              headers=sup_b)).json()
    assert queue["total"] == 0
    assert queue["groups"] == []
    assert queue["silent_experts"] == []
    own = (await client.get("/api/v1/review/queue", headers=sup_b)).json()
    assert [i["id"] for g in own["groups"] for i in g["items"]] == [b_entry["id"]]
    # Decisions: not in scope, and nothing about the entry's state leaks.
    result = (await decide(client, world, "supervisor_b", approve(a_entry))).json()["results"][0]
    assert result == {"entry_id": a_entry["id"], "outcome": "not_in_scope", "status": None, "version": None,
                      "reason": "not_in_scope", "detail": "No such entry at a hospital you supervise"}
    # Unapprove, history, audit: 404 / empty, as if the entry did not exist.
    await decide(client, world, "supervisor_a", approve(a_entry))
    r = await client.post("/api/v1/review/unapprove", json={"entry_id": a_entry["id"], "reason": "x"}, headers=sup_b)
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/entries/{a_entry['id']}/history", headers=sup_b)).status_code == 404
    audit = (await client.get("/api/v1/audit", params={"object_type": "entry", "object_id": a_entry["id"]},
                              headers=sup_b)).json()
    assert audit["items"] == []
    seen_by_a = (await client.get("/api/v1/audit", params={"object_type": "entry", "object_id": a_entry["id"]},
                                  headers=await world.headers(client, "supervisor_a"))).json()
    assert [e["action"] for e in seen_by_a["items"]] == ["entry.create", "entry.submit", "entry.approve"]
    # Experts: another expert's entry and deployment do not exist for them; reviewer routes are refused.
    exp_b = await world.headers(client, "expert_b")
    assert (await client.post(f"/api/v1/entries/{a_entry['id']}/submit", json={}, headers=exp_b)).status_code == 404
    assert (await client.post(f"/api/v1/entries/{a_entry['id']}/revisions", json=clinic(world, "b"),
                              headers=exp_b)).status_code == 404
    assert (await client.post("/api/v1/entries/submit-week", json={
        "deployment_id": str(world.deployment_a.id), "week_start": TODAY.isoformat()}, headers=exp_b)).status_code == 404
    assert (await client.get(f"/api/v1/entries/{a_entry['id']}/history", headers=exp_b)).status_code == 404
    assert (await client.get("/api/v1/review/queue", headers=exp_b)).status_code == 403
    assert (await client.post("/api/v1/review/unapprove", json={"entry_id": a_entry["id"], "reason": "x"},
                              headers=exp_b)).status_code == 403
    assert (await client.get("/api/v1/audit", headers=await world.headers(client, "hr"))).status_code == 403
    # The admin reads everything and may unapprove; the right supervisor may too.
    admin_audit = (await client.get("/api/v1/audit", params={"object_id": b_entry["id"]},
                                    headers=await world.headers(client, "admin"))).json()
    assert len(admin_audit["items"]) == 2
    r = await client.post("/api/v1/review/unapprove", json={"entry_id": a_entry["id"], "reason": "复核"},
                          headers=await world.headers(client, "supervisor_a"))
    assert r.status_code == 200
    assert r.json()["status"] == "returned"


async def test_submit_week_over_http(client: Any, world: World) -> None:
    monday = TODAY - timedelta(days=TODAY.weekday() + 7)
    ids = [(await create(client, world, days_ago=(TODAY - (monday + timedelta(days=d))).days))["id"] for d in (0, 4)]
    r = await client.post("/api/v1/entries/submit-week", json={"deployment_id": str(world.deployment_a.id),
                                                               "week_start": monday.isoformat()},
                          headers=await world.headers(client, "expert_a"))
    assert r.status_code == 200
    assert [e["id"] for e in r.json()] == ids
    assert {e["status"] for e in r.json()} == {"submitted"}
