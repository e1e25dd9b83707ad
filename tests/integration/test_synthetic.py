"""Synthetic data is plausible, and its bulk-built roll-ups equal the recomputation, also after review changes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text

from backend.models import Entry
from backend.runtime import Runtime
from backend.stats import recompute
from backend.stats.rollup import apply_entry
from backend.synthetic import seed_synthetic


async def test_seeded_data_is_plausible_and_its_roll_ups_check_out(db: Runtime) -> None:
    timings = await seed_synthetic(db.database_url, experts=12, years=1, today=date(2025, 6, 30), seed=3,
                                   say=lambda _m: None)
    assert timings["entries"] > 2000
    async with db.sessionmaker() as session:
        shares = dict((await session.execute(text(
            "SELECT status, count(*)::float / sum(count(*)) OVER () FROM entries GROUP BY status"))).all())
        assert shares["approved"] > 0.8
        assert 0 < shares["returned"] < 0.1
        assert 0 < shares["submitted"] < 0.1
        kinds = dict((await session.execute(text(
            "SELECT fields->>'status', count(*) FROM entries WHERE activity_type = 'attendance' GROUP BY 1"))).all())
        assert set(kinds) == {"present", "travel", "leave", "off"}
        assert kinds["present"] > kinds["off"]
        revised = (await session.execute(text("SELECT count(*) FROM entries WHERE superseded_by IS NOT NULL"))).scalar()
        assert revised
        assert revised > 0
        stays = (await session.execute(text(
            "SELECT min(planned_end - starts_on), max(planned_end - starts_on) FROM deployments"))).one()
        assert stays[0] >= 27
        assert stays[1] <= 366
        assert (await recompute.check(session)).ok

        # Review keeps going on the seeded data: unapprove one approved entry, approve one submitted.
        approved = (await session.execute(select(Entry).where(Entry.status == "approved",
                                                              Entry.superseded_by.is_(None)).limit(1))).scalar_one()
        approved.status = "returned"
        await apply_entry(session, approved, -1)
        pending = (await session.execute(select(Entry).where(Entry.status == "submitted").limit(1))).scalar_one()
        pending.status = "approved"
        await apply_entry(session, pending, +1)
        await session.flush()
        assert (await recompute.check(session)).ok
