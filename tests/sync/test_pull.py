"""Pull: first sync in pages, gap-free windows over snapshots (out-of-order commits), tombstones, resets, scope."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text

from backend.db.engine import plain_url
from sync.server.horizon import purge_tombstones
from tests.sync import clinic, outcomes, phone


def _ids(changes: list[dict[str, Any]], kind: str, op: str = "upsert") -> list[str]:
    return [c["id"] for c in changes if c["kind"] == kind and c["op"] == op]


async def _seed(p: Any, deployment_id: uuid.UUID, n: int) -> list[str]:
    ids = [uuid.uuid4() for _ in range(n)]
    reply = await p.push([p.mutation("create", i, clinic(deployment_id, date.today() - timedelta(days=k + 1)))
                          for k, i in enumerate(ids)])
    assert set(outcomes(reply)) == {"applied"}
    return sorted(str(i) for i in ids)


async def test_first_sync_pages_through_the_scope_and_then_is_quiet(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    ids = await _seed(p, world.deployment_a.id, 7)
    other = await phone(client, world.expert_b.username)
    await _seed(other, world.deployment_b.id, 2)
    pages = 0
    cursor = None
    changes: list[dict[str, Any]] = []
    while True:
        page = await p.pull(cursor, limit=3)
        pages += 1
        changes += page["changes"]
        cursor = page["cursor"]
        assert page["request_id"]
        if not page["has_more"]:
            break
    assert pages >= 3
    assert sorted(_ids(changes, "entry")) == ids  # only the caller's own
    deps = [c for c in changes if c["kind"] == "deployment"]
    assert [d["id"] for d in deps] == [str(world.deployment_a.id)]
    assert deps[0]["data"]["editable_until"]
    assert _ids(changes, "catalog") == ["catalog"]
    entry = next(c for c in changes if c["kind"] == "entry")["data"]
    assert {"status", "version", "review_comment", "locked", "lock_reason", "missing_attachments"} <= entry.keys()
    quiet = await p.pull(cursor)
    assert quiet["changes"] == []
    assert quiet["has_more"] is False


async def test_incremental_pull_brings_edits_tombstones_and_rejections(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    ids = await _seed(p, world.deployment_a.id, 3)
    _, cursor = await p.pull_all()
    reply = await p.push([p.mutation("update", ids[0], {"note": "改"}, base_version=1),
                          p.mutation("delete", ids[1], base_version=1),
                          p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, work_date="2001-01-01"))])
    assert outcomes(reply) == ["applied", "applied", "rejected"]
    changes, cursor = await p.pull_all(cursor, limit=1)
    assert _ids(changes, "entry") == [ids[0]]
    assert _ids(changes, "entry", "delete") == [ids[1]]
    assert next(c for c in changes if c["kind"] == "entry" and c["op"] == "upsert")["data"]["note"] == "改"
    rejected = [c for c in changes if c["kind"] == "mutation"]
    assert rejected[0]["id"] == f"{p.device_id}:6"
    assert rejected[0]["data"]["result"]["errors"]
    assert (await p.pull(cursor))["changes"] == []


async def test_a_change_committed_late_by_an_early_transaction_is_not_skipped(client: Any, world: Any,
                                                                             db: Any) -> None:
    p = await phone(client, world.expert_a.username)
    first, second = await _seed(p, world.deployment_a.id, 2)
    _, cursor = await p.pull_all()
    touch = ("INSERT INTO sync_feed (user_id, kind, record_id, xid, op, changed_at) "
             "VALUES ($1, 'entry', $2, pg_current_xact_id()::text::bigint, 'upsert', now()) "
             "ON CONFLICT (user_id, kind, record_id) DO UPDATE SET xid = EXCLUDED.xid, op = 'upsert'")
    early = await asyncpg.connect(plain_url(db.database_url))
    late = await asyncpg.connect(plain_url(db.database_url))
    try:
        early_tx, late_tx = early.transaction(), late.transaction()
        await early_tx.start()
        await late_tx.start()
        early_xid = await early.fetchval("SELECT pg_current_xact_id()::text::bigint")
        late_xid = await late.fetchval("SELECT pg_current_xact_id()::text::bigint")
        assert early_xid < late_xid
        await early.execute("UPDATE entries SET note = 'early-started' WHERE id = $1", uuid.UUID(first))
        await early.execute(touch, world.expert_a.id, first)
        await late.execute("UPDATE entries SET note = 'late-started' WHERE id = $1", uuid.UUID(second))
        await late.execute(touch, world.expert_a.id, second)
        await late_tx.commit()  # the higher transaction id commits first
        changes, cursor = await p.pull_all(cursor)
        assert _ids(changes, "entry") == [second]
        await early_tx.commit()
        changes, cursor = await p.pull_all(cursor)
        assert _ids(changes, "entry") == [first]
        assert changes[0]["data"]["note"] == "early-started"
    finally:
        await early.close()
        await late.close()


async def test_corrupt_forged_or_foreign_cursors_answer_reset(client: Any, world: Any) -> None:
    a = await phone(client, world.expert_a.username)
    b = await phone(client, world.expert_b.username)
    _, cursor = await a.pull_all()
    for bad in ("garbage!!", cursor[:-3] + "AAA", "eyJ2IjoxfQ"):
        page = await a.pull(bad)
        assert page["reset"] is True
        assert page["changes"] == []
        assert page["reset_reason"] == "cursor_invalid"
    assert (await b.pull(cursor))["reset"] is True  # someone else's cursor


async def test_a_cursor_older_than_the_purged_tombstones_answers_reset(client: Any, world: Any, session: Any) -> None:
    p = await phone(client, world.expert_a.username)
    ids = await _seed(p, world.deployment_a.id, 2)
    _, old_cursor = await p.pull_all()
    await p.push([p.mutation("delete", ids[0], base_version=1)])
    await session.execute(text("UPDATE sync_feed SET changed_at = now() - interval '200 days' WHERE op = 'delete'"))
    assert await purge_tombstones(session, 180, now=datetime.now(UTC)) == 1
    await session.commit()
    page = await p.pull(old_cursor)
    assert page["reset"] is True
    assert page["reset_reason"] == "cursor_too_old"
    changes, _ = await p.pull_all()  # starting again works and no longer holds the deleted entry
    assert _ids(changes, "entry") == [ids[1]]


async def test_pull_never_returns_another_users_records(client: Any, world: Any, session: Any) -> None:
    a = await phone(client, world.expert_a.username)
    b = await phone(client, world.expert_b.username)
    a_ids = await _seed(a, world.deployment_a.id, 2)
    _, cursor = await b.pull_all()
    # Even a feed row naming A's entry in B's feed (a bug elsewhere) yields a tombstone, never A's data.
    await session.execute(text("INSERT INTO sync_feed (user_id, kind, record_id, xid, op, changed_at) VALUES "
                               "(:u, 'entry', :r, pg_current_xact_id()::text::bigint, 'upsert', now())"),
                          {"u": world.expert_b.id, "r": a_ids[0]})
    await session.commit()
    changes, _ = await b.pull_all(cursor)
    assert changes == [{"kind": "entry", "id": a_ids[0], "op": "delete"}]


async def test_a_supervisors_pull_brings_new_and_decided_work_at_their_hospital_only(client: Any, world: Any) -> None:
    sup = await phone(client, world.supervisor_a.username)
    _, cursor = await sup.pull_all()
    expert = await phone(client, world.expert_a.username)
    elsewhere = await phone(client, world.expert_b.username)
    rid = (await _seed(expert, world.deployment_a.id, 1))[0]
    await _seed(elsewhere, world.deployment_b.id, 1)
    reply = await expert.push([expert.mutation("submit", rid, base_version=1)])
    assert outcomes(reply) == ["applied"]
    changes, cursor = await sup.pull_all(cursor)
    assert _ids(changes, "entry") == [rid]  # not the entry at hospital B
    assert next(c for c in changes if c["kind"] == "entry")["data"]["status"] == "submitted"
    decided = await client.post("/api/v1/review/decisions", headers=sup.headers, json={
        "decisions": [{"entry_id": rid, "version": 2, "action": "return", "comment": "请补充诊断"}]})
    assert decided.status_code == 200, decided.text
    assert decided.json()["results"][0]["outcome"] == "applied"
    changes, cursor = await sup.pull_all(cursor)
    data = next(c for c in changes if c["kind"] == "entry")["data"]
    assert (data["status"], data["review_comment"]) == ("returned", "请补充诊断")
    assert (await sup.pull(cursor))["changes"] == []


async def test_old_answers_are_purged_but_a_resend_is_still_answered_once(client: Any, world: Any,
                                                                          session: Any) -> None:
    from sync.server.horizon import purge_answers

    p = await phone(client, world.expert_a.username)
    good = p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, date.today() - timedelta(days=1)))
    bad = p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, work_date="2001-01-01"))
    assert outcomes(await p.push([good, bad])) == ["applied", "rejected"]
    await session.execute(text("UPDATE sync_mutations SET created_at = now() - interval '200 days'"))
    assert await purge_answers(session, 180) == 1  # the rejected one stays for the expert to act on
    await session.commit()
    again = await p.push([good, bad])
    assert outcomes(again) == ["duplicate", "rejected"]
    assert again["results"][0]["replayed"] is True
    rows = (await session.execute(text("SELECT count(*) FROM entries WHERE id = :i"), {"i": good["record_id"]})).scalar()
    assert rows == 1
