"""The pull's one-statement entry loader says exactly what the shared entry view says, in the same scope."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import msgspec
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.service import load_principal
from backend.models import Entry
from backend.runtime import Runtime
from backend.security.tokens import AccessClaims
from backend.worklog.views import entry_views
from sync.server.answers import raw_connection
from sync.server.pull_entries import entries_by_id, entry_page
from tests.sync import clinic, phone

GRACE = 30


async def principal_of(session: AsyncSession, runtime: Runtime, headers: dict[str, str]) -> Any:
    claims: AccessClaims = runtime.signer.verify(headers["Authorization"].split()[1])
    return await load_principal(session, claims)


def as_json(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


async def test_loader_equals_the_entry_view_for_every_lock_and_file_state(db: Runtime, client: Any,
                                                                           world: Any) -> None:
    expert = await phone(client, world.expert_a.username)
    colleague = await phone(client, world.expert_a2.username)
    other = await phone(client, world.expert_b.username)
    mine = [uuid.uuid4() for _ in range(5)]
    days = [date.today() - timedelta(days=n) for n in (1, 2, 70, 3, 4)]  # the third alone in its month
    reply = await expert.push([expert.mutation("create", i, clinic(world.deployment_a.id, d))
                               for i, d in zip(mine, days, strict=True)])
    assert [r["outcome"] for r in reply["results"]] == ["applied"] * 5, reply
    theirs = uuid.uuid4()
    await colleague.push([colleague.mutation("create", theirs, clinic(world.deployment_a2.id))])
    elsewhere = uuid.uuid4()
    await other.push([other.mutation("create", elsewhere, clinic(world.deployment_b.id))])
    async with db.sessionmaker() as s, s.begin():
        await s.execute(text("""UPDATE entries SET status = 'approved', location = '{"lat": 30.1, "place": "门诊楼"}'
                                WHERE id = :i"""), {"i": mine[0]})
        await s.execute(text("UPDATE entries SET status = 'submitted' WHERE id = :i"), {"i": mine[1]})
        await s.execute(text("UPDATE entries SET deleted_at = now() WHERE id = :i"), {"i": mine[4]})
        await s.execute(text("""INSERT INTO month_closures (institution_id, month, closed_by)
                                VALUES (:h, :m, :u)"""), {"h": world.hospital_a.id, "m": days[2].replace(day=1),
                                                          "u": world.admin.id})
        for sha, status in (("a" * 64, "complete"), ("b" * 64, "pending"), ("c" * 64, None)):
            await s.execute(text("INSERT INTO entry_attachments (entry_id, sha256) VALUES (:e, :s)"),
                            {"e": mine[3], "s": sha})
            if status:
                await s.execute(text("""INSERT INTO attachments (id, owner_id, sha256, size, content_type, file_name,
                                        storage_key, status) VALUES (:i, :o, :s, 1, 'image/jpeg', 'x.jpg', :s, :st)"""),
                                {"i": uuid.uuid4(), "o": world.expert_a.id, "s": sha, "st": status})
        # An ended deployment puts the colleague's entry outside the editable window.
        await s.execute(text("UPDATE deployments SET actual_end = :d WHERE id = :i"),
                        {"d": date.today() - timedelta(days=GRACE + 5), "i": world.deployment_a2.id})

    for who, headers in (("expert", expert.headers), ("supervisor", await world.headers(client, "supervisor_a"))):
        async with db.sessionmaker() as s, s.begin():
            principal = await principal_of(s, db, headers)
            raw = await raw_connection(s)
            page = await entry_page(raw, principal, None, 100, GRACE)
            ids = [uuid.UUID(c.id) for c in page]
            by_id = await entries_by_id(raw, principal, [*mine, theirs, elsewhere], GRACE)
            rows = (await s.execute(select(Entry).where(Entry.id.in_(ids)))).scalars().all()
            expected = {str(v.id): as_json(v) for v in await entry_views(s, rows, GRACE)}
        want = set(map(str, mine[:4])) | ({str(theirs)} if who == "supervisor" else set())
        assert {str(i) for i in ids} == want, who  # scope: not the deleted one, not hospital B's
        assert ids == sorted(ids)
        assert set(by_id) == want
        for change in page:
            assert as_json(change.data) == expected[change.id], (who, change.id)
            assert as_json(by_id[change.id].data) == expected[change.id]
        states = {c.id: as_json(c.data) for c in page}
        assert states[str(mine[0])]["lock_reason"] == "approved"
        assert states[str(mine[1])]["lock_reason"] == "under_review"
        assert states[str(mine[2])]["lock_reason"] == "month_closed"
        assert states[str(mine[3])]["missing_attachments"] == ["b" * 64, "c" * 64]
        assert states[str(mine[0])]["location"] == {"lat": 30.1, "place": "门诊楼"}
        if who == "supervisor":
            assert states[str(theirs)]["lock_reason"] == "outside_editable_window"


async def test_pages_continue_after_the_last_id(db: Runtime, client: Any, world: Any) -> None:
    expert = await phone(client, world.expert_a.username)
    ids = sorted(uuid.uuid4() for _ in range(7))
    await expert.push([expert.mutation("create", i, clinic(world.deployment_a.id, date.today() - timedelta(days=n + 1)))
                       for n, i in enumerate(ids)])
    seen: list[str] = []
    async with db.sessionmaker() as s, s.begin():
        principal = await principal_of(s, db, expert.headers)
        after = None
        raw = await raw_connection(s)
        while page := await entry_page(raw, principal, after, 3, GRACE):
            seen += [c.id for c in page]
            after = page[-1].id
    assert seen == [str(i) for i in ids]


async def test_the_feed_keeps_only_the_window_and_pulls_stay_whole(db: Runtime, client: Any, world: Any) -> None:
    """Retention: feed rows older than the window go (upserts too); a phone older than that resets, a current
    one continues, and a first sync still holds every record."""
    from datetime import UTC, datetime

    from sync.server.horizon import purge_tombstones

    expert = await phone(client, world.expert_a.username)
    _, stale_cursor = await expert.pull_all()  # a phone that last synced before the old work was written
    old = [uuid.uuid4() for _ in range(3)]
    await expert.push([expert.mutation("create", i, clinic(world.deployment_a.id, date.today() - timedelta(days=n + 1)))
                       for n, i in enumerate(old)])
    async with db.sessionmaker() as s, s.begin():
        await s.execute(text("UPDATE sync_feed SET changed_at = now() - interval '200 days'"))
    recent = uuid.uuid4()
    await expert.push([expert.mutation("create", recent, clinic(world.deployment_a.id))])
    _, current_cursor = await expert.pull_all()  # a phone that has everything up to now
    newest = uuid.uuid4()
    await expert.push([expert.mutation("create", newest, clinic(world.deployment_a.id, date.today() - timedelta(days=9)))])
    async with db.sessionmaker() as s, s.begin():
        purged = await purge_tombstones(s, 180, now=datetime.now(UTC))
        left = (await s.execute(text("SELECT record_id FROM sync_feed WHERE kind = 'entry'"))).scalars().all()
    assert purged >= 3
    assert sorted(left) == sorted([str(recent), str(newest)])
    page = await expert.pull(stale_cursor)
    assert page["reset"] is True
    assert page["reset_reason"] == "cursor_too_old"
    changes, _ = await expert.pull_all(current_cursor)
    assert [c["id"] for c in changes] == [str(newest)]
    everything, _ = await expert.pull_all()
    assert {c["id"] for c in everything if c["kind"] == "entry"} == {*map(str, old), str(recent), str(newest)}


async def test_a_window_page_equals_the_entry_view_and_resets_when_purged_meanwhile(db: Runtime, client: Any,
                                                                                   world: Any) -> None:
    """The incremental window's own statement sends what the shared entry view says; and when the horizon rose
    after the cursor was checked (a purge committed while the pull ran), the page answers a reset."""
    import pytest

    from sync.server.cursor import decode_cursor
    from sync.server.pull import _Reset, _window_page

    expert = await phone(client, world.expert_a.username)
    _, cursor_text = await expert.pull_all()
    ids = [uuid.uuid4() for _ in range(3)]
    await expert.push([expert.mutation("create", i, clinic(world.deployment_a.id, date.today() - timedelta(days=n + 1)))
                       for n, i in enumerate(ids)])
    async with db.sessionmaker() as s, s.begin():
        principal = await principal_of(s, db, expert.headers)
        raw = await raw_connection(s)
        cursor = decode_cursor(cursor_text, db.settings.signing_key, principal.user_id)
        cursor.target = await raw.fetchval("SELECT pg_current_snapshot()::text")
        page = await _window_page(raw, principal, cursor, 100, GRACE)
        rows = (await s.execute(select(Entry).where(Entry.id.in_(ids)))).scalars().all()
        expected = {str(v.id): as_json(v) for v in await entry_views(s, rows, GRACE)}
        assert {c.id: as_json(c.data) for _, c in page} == expected
        await s.execute(text("UPDATE sync_horizon SET min_xid = :x WHERE id = 1"),
                        {"x": int(cursor.prev.split(":")[0]) + 1})
        with pytest.raises(_Reset):
            await _window_page(raw, principal, cursor, 100, GRACE)
        await s.rollback()
