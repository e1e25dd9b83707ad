"""Purging old tombstones and stored answers, and the horizon that makes cursors older than them answer a reset.

Run by operations (cron, a job runner): `python -m sync.server.horizon` with the service's environment.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Every feed row older than the window goes, not only tombstones: a record unchanged for that long is in every
# snapshot a live cursor can hold, so its row would never be read again, and the feed stays the size of the
# window's changes instead of one row per record ever written (docs/capacity.md).
_PURGE = text("""
WITH gone AS (DELETE FROM sync_feed WHERE changed_at < :before RETURNING xid)
SELECT count(*) AS n, max(xid) AS top FROM gone
""")
# Stored answers keep exactly-once for resends; a number older than the window that comes again is answered
# `duplicate` (acknowledged) without its row (see push.py). Rejected and quarantined mutations stay: they are
# what the expert and the administrators still have to act on.
_PURGE_ANSWERS = text("""
DELETE FROM sync_mutations WHERE created_at < :before AND outcome <> 'rejected' AND NOT quarantined
""")
_RAISE = text("UPDATE sync_horizon SET min_xid = GREATEST(min_xid, :xid), purged_at = now() WHERE id = 1")


async def purge_tombstones(session: AsyncSession, tombstone_days: int, *, now: datetime | None = None) -> int:
    """Delete feed rows (tombstones and upserts) older than `tombstone_days`; returns how many went.

    A cursor whose previous snapshot could still need one of them (its xmin is not above the newest purged
    transaction id) can no longer be continued: the horizon is raised past it so that pull answers a reset.
    A cursor above the horizon had every purged change already: each purged transaction committed before its
    snapshot's xmin.
    """
    before = (now or datetime.now(UTC)) - timedelta(days=tombstone_days)
    row = (await session.execute(_PURGE, {"before": before})).one()
    if row.n:
        await session.execute(_RAISE, {"xid": int(row.top) + 1})
    return int(row.n)


async def purge_answers(session: AsyncSession, tombstone_days: int, *, now: datetime | None = None) -> int:
    """Delete stored answers of applied/duplicate/conflict/locked mutations older than the window."""
    before = (now or datetime.now(UTC)) - timedelta(days=tombstone_days)
    result = await session.execute(_PURGE_ANSWERS, {"before": before})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def main() -> int:
    from backend.db.engine import database_url, make_engine, make_sessionmaker
    from backend.settings import load_settings

    settings = load_settings()
    keep: list[object] = []
    url = database_url(settings, keep=keep)

    async def run() -> tuple[int, int]:
        engine = make_engine(url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return (await purge_tombstones(session, settings.tombstone_days),
                        await purge_answers(session, settings.tombstone_days))
        finally:
            await engine.dispose()

    tombstones, answers = asyncio.run(run())
    print(f"purged {tombstones} tombstones and {answers} stored sync answers older than {settings.tombstone_days} days")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
