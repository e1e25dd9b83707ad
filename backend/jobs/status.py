"""What the job queue is doing, for admins: counts by job and state, failures held, ticks, live workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_COUNTS = text("""
SELECT entrypoint, status::text AS status, count(*) AS n, min(created) AS oldest,
       min(execute_after) FILTER (WHERE status = 'queued') AS next_run
FROM jobs.pgqueuer GROUP BY entrypoint, status ORDER BY entrypoint, status
""")
_HELD = text("""
SELECT id, entrypoint, attempts, created, updated FROM jobs.pgqueuer
WHERE status = 'failed' ORDER BY updated DESC LIMIT :limit
""")
_RECENT = text("""
SELECT job_id, entrypoint, status::text AS status, created,
       traceback->>'exception_type' AS error
FROM jobs.pgqueuer_log WHERE status <> 'queued' ORDER BY id DESC LIMIT :limit
""")
_SCHEDULES = text("""
SELECT entrypoint, expression, status::text AS status, next_run, last_run FROM jobs.pgqueuer_schedules
ORDER BY entrypoint
""")
_WORKERS = text("""
SELECT queue_manager_id::text AS worker, count(*) AS running, max(heartbeat) AS last_heartbeat
FROM jobs.pgqueuer WHERE status = 'picked' AND queue_manager_id IS NOT NULL GROUP BY queue_manager_id
""")


class QueueCount(msgspec.Struct, kw_only=True):
    job: str
    status: str
    count: int
    oldest: datetime
    next_run: datetime | None


class HeldJob(msgspec.Struct, kw_only=True):
    id: int
    job: str
    attempts: int
    created: datetime
    failed_at: datetime


class JobEvent(msgspec.Struct, kw_only=True):
    id: int
    job: str
    status: str
    at: datetime
    error: str | None


class Schedule(msgspec.Struct, kw_only=True):
    job: str
    cron_utc: str
    status: str
    next_run: datetime
    last_run: datetime | None


class BusyWorker(msgspec.Struct, kw_only=True):
    worker: str
    running: int
    last_heartbeat: datetime


class JobsOverview(msgspec.Struct, kw_only=True):
    counts: list[QueueCount]
    failed: list[HeldJob]
    recent: list[JobEvent]
    schedules: list[Schedule]
    workers: list[BusyWorker]


async def overview(session: AsyncSession, *, limit: int = 50) -> JobsOverview:
    def rows(result: Any) -> list[Any]:
        return list(result.mappings())

    counts = rows(await session.execute(_COUNTS))
    held = rows(await session.execute(_HELD, {"limit": limit}))
    recent = rows(await session.execute(_RECENT, {"limit": limit}))
    schedules = rows(await session.execute(_SCHEDULES))
    workers = rows(await session.execute(_WORKERS))
    return JobsOverview(
        counts=[QueueCount(job=r["entrypoint"], status=r["status"], count=r["n"], oldest=r["oldest"],
                           next_run=r["next_run"]) for r in counts],
        failed=[HeldJob(id=r["id"], job=r["entrypoint"], attempts=r["attempts"], created=r["created"],
                        failed_at=r["updated"]) for r in held],
        recent=[JobEvent(id=r["job_id"], job=r["entrypoint"], status=r["status"], at=r["created"], error=r["error"])
                for r in recent],
        schedules=[Schedule(job=r["entrypoint"].removeprefix("tick:"), cron_utc=r["expression"], status=r["status"],
                            next_run=r["next_run"], last_run=r["last_run"]) for r in schedules],
        workers=[BusyWorker(worker=r["worker"], running=r["running"], last_heartbeat=r["last_heartbeat"])
                 for r in workers],
    )

