"""The job engine on a real PostgreSQL with real worker processes: a worker killed mid-export, retries."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.engine import plain_url
from backend.export.jobs import enqueue_export
from backend.jobs import Job, JobContext, Registry, enqueue
from backend.jobs.worker import drain
from backend.models import Entry, ExportFile, ExportJob
from backend.runtime import Runtime
from tests.conftest import JWT_SECRET


def start_worker(database_url: str, data_dir: Path, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDLOG_", "PGQUEUER"))}
    env.update(DATABASE_URL=database_url, FIELDLOG_DATA_DIR=str(data_dir), FIELDLOG_JWT_KEYS=f"t1:{JWT_SECRET}",
               FIELDLOG_JOB_HEARTBEAT_SECONDS="2", FIELDLOG_LOG_LEVEL="INFO")
    log = (data_dir / f"{name}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "backend.cli.main", "worker", "--concurrency", "2"],
                            env=env, stdout=log, stderr=log)


async def wait_for(probe: Any, what: str, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def logged_successes(probe: Any, entrypoint: str) -> int:
    """How many runs of `entrypoint` the queue's log calls successful, once it records the first.

    pgqueuer writes a finished job to its log a moment after the handler returned (completions are flushed in
    batches), so a test that saw the work done waits for the log before counting.
    """
    sql = "SELECT count(*) FROM jobs.pgqueuer_log WHERE entrypoint = $1 AND status = 'successful'"
    await wait_for(lambda: probe.fetchval(sql, entrypoint), f"the queue's log to record {entrypoint} as successful")
    return int(await probe.fetchval(sql, entrypoint))


async def queued_export(session: AsyncSession, world: Any) -> ExportJob:
    session.add(Entry(id=uuid.uuid4(), expert_id=world.expert_a.id, deployment_id=world.deployment_a.id,
                      institution_id=world.deployment_a.recipient_id, work_date=date(2025, 3, 3),
                      activity_type="clinic", fields={"session": "am", "patients_first_visit": 4},
                      content_hash="0" * 64, status="approved", reviewed_by=world.supervisor_a.id,
                      reviewed_at=datetime.now(UTC)))
    job = ExportJob(id=uuid.uuid4(), expert_id=world.expert_a.id, requested_by=world.hr.id,
                    date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), formats=["csv", "pdf"],
                    status="queued", progress=0, verification_code=uuid.uuid4().hex[:12].upper())
    session.add(job)
    await session.flush()
    await enqueue_export(session, job.id)
    await session.commit()
    return job


async def test_a_worker_killed_mid_export_leaves_the_job_to_another_that_finishes_it_once(
    db: Runtime, session: AsyncSession, world: Any, tmp_path: Path
) -> None:
    url = plain_url(db.database_url)
    blocker = await asyncpg.connect(url)
    probe = await asyncpg.connect(url)
    first = second = None
    try:
        # Hold the files table: the first worker renders, then blocks writing the files (mid-export).
        await blocker.execute("BEGIN; LOCK TABLE export_files IN EXCLUSIVE MODE")
        job = await queued_export(session, world)
        first = start_worker(db.database_url, tmp_path, "first")
        await wait_for(lambda: probe.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE "
            "'INSERT INTO export_files%'"), "the first worker to be writing the files", seconds=120)
        assert await probe.fetchval("SELECT status FROM exports WHERE id = $1", job.id) == "running"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        await blocker.execute("ROLLBACK")
        # The killed worker's transaction never committed: nothing half-written.
        await wait_for(lambda: probe.fetchval(
            "SELECT count(*) = 0 FROM pg_stat_activity WHERE query ILIKE 'INSERT INTO export_files%' "
            "AND state <> 'idle' AND pid <> pg_backend_pid()"), "the dead worker's backend to go")
        assert await probe.fetchval("SELECT count(*) FROM export_files WHERE export_id = $1", job.id) == 0
        assert await probe.fetchval("SELECT status FROM exports WHERE id = $1", job.id) == "running"

        second = start_worker(db.database_url, tmp_path, "second")
        await wait_for(lambda: probe.fetchval(
            "SELECT status = 'done' FROM exports WHERE id = $1", job.id), "the second worker to finish", seconds=120)
        files = (await session.execute(select(ExportFile.format).where(ExportFile.export_id == job.id))).scalars()
        assert sorted(files) == ["csv", "pdf"]
        await wait_for(lambda: probe.fetchval("SELECT count(*) = 0 FROM jobs.pgqueuer"), "the job to leave the queue")
        assert await logged_successes(probe, "export.render") == 1
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        await blocker.close()
        await probe.close()


async def test_a_failing_job_is_retried_with_backoff_then_held_as_failed(db: Runtime, session: AsyncSession) -> None:
    attempts: list[int] = []

    async def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        attempts.append(ctx.attempt)
        raise RuntimeError("provider down")

    from datetime import timedelta

    registry = Registry.of([Job("test.flaky", flaky, max_attempts=3, first_retry=timedelta(0))])
    await enqueue(session, "test.flaky", {"n": 1})
    await session.commit()
    for _ in range(3):
        await drain(db, registry)
    assert attempts == [1, 2, 3]
    async with db.sessionmaker() as s:
        conn = await s.connection()
        row = (await conn.exec_driver_sql("SELECT status::text, attempts FROM jobs.pgqueuer")).one()
    assert (row[0], row[1]) == ("failed", 2)  # held for an admin to see and re-queue


async def test_a_dedupe_key_queues_one_job_until_it_ran(db: Runtime, session: AsyncSession) -> None:
    first = await enqueue(session, "test.once", {}, dedupe_key="k1")
    second = await enqueue(session, "test.once", {}, dedupe_key="k1")
    await session.commit()
    assert first is not None
    assert second is None
    ran: list[int] = []

    async def once(ctx: JobContext, payload: dict[str, Any]) -> None:
        ran.append(ctx.job_id)

    await drain(db, Registry.of([Job("test.once", once)]))
    assert ran == [first]


async def test_an_enqueue_rolled_back_with_its_transaction_leaves_no_job(db: Runtime, session: AsyncSession) -> None:
    await enqueue(session, "test.never", {})
    await session.rollback()
    ran: list[int] = []

    async def never(ctx: JobContext, payload: dict[str, Any]) -> None:
        ran.append(ctx.job_id)

    await drain(db, Registry.of([Job("test.never", never)]))
    assert ran == []


async def test_the_daily_horizon_purge_runs_as_a_job_of_the_apps_registry(
    db: Runtime, session: AsyncSession, world: Any
) -> None:
    from backend.app import job_registry
    from backend.job_catalog import HORIZON

    registry = job_registry()
    assert HORIZON in [p.job for p in registry.periodic]
    await session.execute(text(
        "INSERT INTO sync_feed (user_id, kind, record_id, xid, op, changed_at) VALUES "
        "(:u, 'entry', 'old', 10, 'delete', now() - interval '400 days'), "
        "(:u, 'entry', 'new', 11, 'delete', now() - interval '3 days')"), {"u": world.expert_a.id})
    await enqueue(session, HORIZON, {"period": "2026-12-02"})
    await session.commit()
    await drain(db, registry)
    left = (await session.execute(text("SELECT record_id FROM sync_feed WHERE op = 'delete'"))).scalars().all()
    assert left == ["new"]
    assert (await session.execute(text("SELECT min_xid FROM sync_horizon"))).scalar_one() == 11
