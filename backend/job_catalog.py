"""The job catalogue: which jobs exist, which feature's handler runs each, and with which retry policy.

It sits at the top: it imports the features (their job names and handlers), the features never import it, and
the queue engine (backend/jobs) knows neither. The sync layer's horizon purge is handed in by the app.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from backend.export.jobs import EXPORT, ROUND, render_export, run_round
from backend.jobs import worker
from backend.jobs.registry import Job, JobContext, Periodic, Registry, daily, hourly
from backend.notifications.jobs import DELIVER as NOTIFY_DELIVER
from backend.notifications.jobs import MAX_ATTEMPTS, deliver, tick
from backend.notifications.jobs import TICK as NOTIFY_TICK
from backend.runtime import Runtime
from backend.settings import Settings

log = logging.getLogger("fieldlog.jobs")

HORIZON = "sync.horizon_purge"

__all__ = ["EXPORT", "HORIZON", "NOTIFY_DELIVER", "NOTIFY_TICK", "ROUND", "core_registry", "drain", "drain_database"]

Purge = Callable[..., Awaitable[int]]


def horizon_job(purge_tombstones: Purge, purge_answers: Purge) -> Job:
    """The daily purge of old sync tombstones and stored answers (logic in sync/server/horizon.py)."""

    async def run(ctx: JobContext, payload: dict[str, Any]) -> None:
        days = ctx.runtime.settings.tombstone_days
        now = ctx.now()
        async with ctx.runtime.sessionmaker() as session, session.begin():
            tombstones = await purge_tombstones(session, days, now=now)
            answers = await purge_answers(session, days, now=now)
        log.info("horizon purge %s: %s tombstones, %s stored answers older than %s days",
                 payload.get("period", "manual"), tombstones, answers, days)

    return Job(HORIZON, run, max_attempts=3, concurrency=1)


def core_jobs() -> list[Job]:
    return [
        Job(EXPORT, render_export, max_attempts=3),
        Job(ROUND, run_round, max_attempts=3),  # HR's promotion round (backend/export/rounds.py)
        Job(NOTIFY_TICK, tick, max_attempts=3, concurrency=1),
        # The delivery decides its own retries (Retry-After, MAX_ATTEMPTS); the queue's cap is only a backstop.
        Job(NOTIFY_DELIVER, deliver, max_attempts=MAX_ATTEMPTS + 2, first_retry=timedelta(seconds=30)),
    ]


def core_periodic() -> list[Periodic]:
    return [Periodic(NOTIFY_TICK, "5 * * * *", hourly)]


def core_registry(*extra: Job, extra_periodic: tuple[Periodic, ...] = ()) -> Registry:
    return Registry.of([*core_jobs(), *extra], [*core_periodic(), *extra_periodic])


def horizon_periodic() -> Periodic:
    return Periodic(HORIZON, "30 19 * * *", daily)  # 03:30 in China, when nobody syncs


async def drain(runtime: Runtime, registry: Registry | None = None) -> None:
    """Run every ready job of `registry` (the core's by default) to the end, then return (tests, benchmarks)."""
    await worker.drain(runtime, registry or core_registry())


async def drain_database(settings: Settings, database_url: str, registry: Registry | None = None) -> None:
    """`drain` on a runtime of its own (for callers on another event loop than the app's, e.g. test clients)."""
    await worker.drain_database(settings, database_url, registry or core_registry())
