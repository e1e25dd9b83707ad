"""The audit trail on a real PostgreSQL: one chain under concurrent writers, and tampering found by verify."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import writer as audit
from backend.audit.verify import verify_trail
from backend.auth.principal import Principal
from backend.cli.audit import format_report
from backend.cli.main import main
from backend.db.engine import plain_url
from backend.http.context import origin_var, request_id_var
from backend.models import AuditEvent
from backend.runtime import Runtime

ACTOR = Principal(user_id=uuid.uuid4(), username="auditor", name="审计", device_id="phone-0001", session_id=None,
                  roles=frozenset({"supervisor"}))


async def _write(db: Runtime, n: int, tag: str) -> None:
    async with db.sessionmaker() as s, s.begin():
        for i in range(n):
            await audit.record(s, ACTOR, "entry.approve", "entry", f"{tag}-{i}", after={"i": i, "tag": tag})
            await asyncio.sleep(0)  # let other transactions interleave


async def _trail(db: Runtime) -> Any:
    async with db.sessionmaker() as s:
        return await verify_trail(s, batch=7)  # small batches: the check must continue across them


async def _tamper(db: Runtime, sql: str) -> None:
    conn = await asyncpg.connect(plain_url(db.database_url))
    try:
        await conn.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
        await conn.execute(sql)
        await conn.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")
    finally:
        await conn.close()


async def test_concurrent_transactions_form_one_chain(db: Runtime) -> None:
    await asyncio.gather(*(_write(db, 5, f"t{k}") for k in range(8)))
    report = await _trail(db)
    assert report.ok, report.problems
    assert report.events == 40
    assert report.head.seq == 40


async def test_event_records_who_from_where_and_the_request(db: Runtime, session: AsyncSession) -> None:
    request_token, origin_token = request_id_var.set("req-abc"), origin_var.set("10.1.2.3")
    try:
        await audit.record(session, ACTOR, "entry.approve", "entry", "e1", before={"s": 1}, after={"s": 2},
                           role="supervisor", detail={"comment": "ok"})
        await session.commit()
    finally:
        request_id_var.reset(request_token)
        origin_var.reset(origin_token)
    event = (await session.execute(select(AuditEvent))).scalar_one()
    assert (event.request_id, event.origin, event.actor_role, event.actor_id) == (
        "req-abc", "device phone-0001 from 10.1.2.3", "supervisor", ACTOR.user_id)
    assert event.occurred_at is not None
    assert event.prev_hash == "0" * 64


async def test_a_rolled_back_transaction_leaves_no_gap(db: Runtime) -> None:
    async with db.sessionmaker() as s:
        await audit.record(s, ACTOR, "entry.approve", "entry", "lost")
        await s.rollback()
    await _write(db, 2, "kept")
    report = await _trail(db)
    assert report.ok
    assert report.events == 2


async def test_edited_event_is_named_by_verify_and_the_cli(db: Runtime, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    await _write(db, 12, "x")
    await _tamper(db, "UPDATE audit_events SET detail = '{\"forged\": true}' WHERE seq = 9")
    report = await _trail(db)
    assert [(p.seq, p.kind) for p in report.problems] == [(9, "hash_mismatch")]

    monkeypatch.setenv("DATABASE_URL", plain_url(db.database_url))
    monkeypatch.setenv("FIELDLOG_JWT_KEYS", "t1:" + "k" * 40)
    code = await asyncio.to_thread(main, ["audit", "verify"])
    out = capsys.readouterr().out
    assert code == 1
    assert "event 9 [hash_mismatch]" in out
    assert "the first wrong event is 9" in out


async def test_a_removed_event_is_found(db: Runtime) -> None:
    await _write(db, 6, "y")
    await _tamper(db, "DELETE FROM audit_events WHERE seq = 3")
    assert [(p.seq, p.kind) for p in (await _trail(db)).problems] == [(4, "seq_gap"), (4, "broken_link")]



async def test_swapped_events_are_found(db: Runtime) -> None:
    await _write(db, 6, "w")
    await _tamper(db, "UPDATE audit_events SET seq = -3 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = 4;"
                      "UPDATE audit_events SET seq = 4 WHERE seq = -3")
    problems = (await _trail(db)).problems
    assert [(p.seq, p.kind) for p in problems] == [
        (3, "broken_link"), (3, "hash_mismatch"), (4, "broken_link"), (4, "hash_mismatch"), (5, "broken_link")]


async def test_an_anchor_catches_events_cut_from_the_end(db: Runtime, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    await _write(db, 5, "z")
    head = (await _trail(db)).head
    monkeypatch.setenv("DATABASE_URL", plain_url(db.database_url))
    monkeypatch.setenv("FIELDLOG_JWT_KEYS", "t1:" + "k" * 40)
    assert await asyncio.to_thread(main, ["audit", "verify", "--anchor", f"{head.seq}:{head.hash}"]) == 0
    await _tamper(db, "DELETE FROM audit_events WHERE seq >= 4")
    assert (await _trail(db)).ok  # a shorter chain is still a valid chain ...
    assert await asyncio.to_thread(main, ["audit", "verify", "--anchor", f"{head.seq}:{head.hash}"]) == 1
    out = capsys.readouterr().out
    assert "event 5 [anchor_mismatch]" in out  # ... but not the one the anchor remembers
    async with db.sessionmaker() as s:
        assert "FAILED" in format_report(await verify_trail(s, anchor=head))[-1]


async def test_released_savepoint_leaves_events_staged_until_the_outer_commit(db: Runtime) -> None:
    from sqlalchemy import func

    async with db.sessionmaker() as s:
        async with s.begin():
            await audit.record(s, ACTOR, "entry.submit", "entry", "outer")
            async with s.begin_nested():
                await audit.record(s, ACTOR, "entry.approve", "entry", "inner")
            # Sealing here would take the chain's lock for the rest of the transaction.
            assert await s.scalar(select(func.count()).select_from(AuditEvent)) == 0
            async with s.begin_nested() as rolled_back:
                await audit.record(s, ACTOR, "entry.return", "entry", "undone")
                await rolled_back.rollback()
        events = (await s.execute(select(AuditEvent.object_id).order_by(AuditEvent.seq))).scalars().all()
    assert events == ["outer", "inner"]
    report = await _trail(db)
    assert report.ok, report.problems
