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
    assert statuses["approved"] > 0 and statuses["submitted"] > 0 and statuses["returned"] > 0
    async with db.sessionmaker() as session:
        assert (await check(session)).differences == 0
        report = await verify_trail(session)
        assert report.problems == [] and report.events > 0
