"""A promotion round survives its worker being killed: real worker processes on the PostgreSQL queue; the
second worker takes the `running` round over, keeps the expert already issued and finishes it once."""

from __future__ import annotations

import signal
import zipfile
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.db.engine import plain_url
from backend.export import round_job, rounds
from backend.models import PromotionRound
from backend.runtime import Runtime
from backend.storage.disk import DiskStorage
from tests.integration.test_jobs_worker import logged_successes, start_worker, wait_for


async def test_a_worker_killed_mid_round_leaves_it_to_another_that_finishes_it(
    db: Runtime, session: AsyncSession, world: Any, tmp_path: Path
) -> None:
    hr = Principal(user_id=world.hr.id, username=world.hr.username, name="人事", device_id=None, session_id=None,
                   roles=frozenset({"hr"}), hr_of=frozenset({world.home.id}))
    created = await rounds.create_round(session, hr, rounds.RoundCreate(date_from=world.deployment_a.starts_on,
                                                                        date_to=world.deployment_a.starts_on))
    await session.commit()
    row = await session.get(PromotionRound, created.id)
    assert row is not None
    # The first expert was issued before the crash (the same as a worker that got that far).
    issued, _ = await round_job._issue(db.sessionmaker, db.settings, row, world.expert_a.id)
    url = plain_url(db.database_url)
    blocker, probe = await asyncpg.connect(url), await asyncpg.connect(url)
    first = second = None
    try:
        # Hold the files table: the first worker blocks storing the second expert's files (mid-round).
        await blocker.execute("BEGIN; LOCK TABLE export_files IN EXCLUSIVE MODE")
        first = start_worker(db.database_url, tmp_path, "first")
        await wait_for(lambda: probe.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE "
            "'INSERT INTO export_files%'"), "the first worker to be storing files", seconds=120)
        assert await probe.fetchval("SELECT status FROM promotion_rounds WHERE id = $1", row.id) == "running"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        await blocker.execute("ROLLBACK")

        second = start_worker(db.database_url, tmp_path, "second")
        await wait_for(lambda: probe.fetchval(
            "SELECT status = 'done' FROM promotion_rounds WHERE id = $1", row.id), "the second worker", seconds=180)
        done = await probe.fetchrow("SELECT progress, experts_done, storage_key FROM promotion_rounds WHERE id = $1",
                                    row.id)
        assert (done["progress"], done["experts_done"]) == (100, 2)
        per_expert = await probe.fetch(
            "SELECT expert_id, count(*) AS n, array_agg(verification_code) AS codes FROM exports "
            "WHERE round_id = $1 AND status = 'done' GROUP BY expert_id", row.id)
        assert {r["expert_id"]: r["n"] for r in per_expert} == {world.expert_a.id: 1, world.expert_a2.id: 1}
        assert next(r["codes"] for r in per_expert if r["expert_id"] == world.expert_a.id) == [
            issued.verification_code]  # the expert issued before the crash kept their document
        path = DiskStorage(tmp_path / "files").local_path(done["storage_key"])
        assert path is not None
        assert len([n for n in zipfile.ZipFile(path).namelist() if n.endswith(".pdf")]) == 2
        assert await logged_successes(probe, "export.round") == 1
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        await blocker.close()
        await probe.close()
