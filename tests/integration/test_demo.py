"""The laptop demo: seeded through the real services, idempotent, and consistent with the audit and roll-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.audit.verify import verify_trail
from backend.demo import seed_demo
from backend.demo_work import seed_demo_work
from backend.models import Entry
from backend.stats.recompute import check


async def test_demo_seed_is_idempotent_and_consistent(db: Any) -> None:
    async with db.sessionmaker() as session, session.begin():
        accounts = await seed_demo(session)
        made = await seed_demo_work(session, db.settings)
    assert {a.username for a in accounts} >= {"admin", "hr.wang", "sup.chen", "dr.zhang"}
    assert made > 100
    async with db.sessionmaker() as session, session.begin():
        await seed_demo(session)
        assert await seed_demo_work(session, db.settings) == 0
        statuses = dict((await session.execute(select(Entry.status, func.count()).group_by(Entry.status))).all())
    assert statuses["approved"] > 0
    assert statuses["submitted"] > 0
    assert statuses["returned"] > 0
    async with db.sessionmaker() as session:
        assert (await check(session)).differences == 0
        report = await verify_trail(session)
        assert report.problems == []
        assert report.events > 0



async def test_a_restart_after_the_expert_fixed_returned_work_keeps_the_fix(db: Any) -> None:
    from backend.demo_work import _people
    from backend.worklog.schemas import EntryPatch
    from backend.worklog.service import update_entry

    async with db.sessionmaker() as session, session.begin():
        await seed_demo(session)
        await seed_demo_work(session, db.settings)
    async with db.sessionmaker() as session, session.begin():
        returned = (await session.execute(select(Entry).where(Entry.status == "returned").limit(1))).scalar_one()
        expert = next(p for p in (await _people(session)).values() if p.user_id == returned.expert_id)
        fixed = await update_entry(session, expert, returned.id, EntryPatch(note="补充了助手信息"),
                                   returned.version, db.settings)
    async with db.sessionmaker() as session, session.begin():
        assert await seed_demo_work(session, db.settings) == 0  # the same id now holds other content
        again = await session.get(Entry, returned.id)
    assert again is not None
    assert (again.version, again.note) == (fixed.version, "补充了助手信息")
