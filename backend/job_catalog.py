"""The service's background jobs and periodic rules (the sync layer's horizon purge is handed in by the app)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.jobs.queue import enqueue
from backend.jobs.registry import Job, JobContext, Periodic, Registry, daily, hourly

log = logging.getLogger("fieldlog.jobs")

EXPORT = "export.render"
ROUND = "export.round"
HORIZON = "sync.horizon_purge"
NOTIFY_TICK = "notify.tick"
NOTIFY_DELIVER = "notify.deliver"

Purge = Callable[..., Awaitable[int]]


async def enqueue_export(session: AsyncSession, export_id: uuid.UUID) -> int | None:
    """Queue the rendering of an export in the transaction that created it."""
    return await enqueue(session, EXPORT, {"export_id": str(export_id)}, dedupe_key=f"{EXPORT}:{export_id}")


async def _export(ctx: JobContext, payload: dict[str, Any]) -> None:
    from backend.export.runner import run_export

    await run_export(ctx.runtime.sessionmaker, ctx.runtime.settings, uuid.UUID(payload["export_id"]))


async def _round(ctx: JobContext, payload: dict[str, Any]) -> None:
    from backend.export.round_job import run_job

    await run_job(ctx, payload)


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
    from backend.notifications.jobs import MAX_ATTEMPTS, deliver, tick

    return [
        Job(EXPORT, _export, max_attempts=3),
        Job(ROUND, _round, max_attempts=3),  # HR's promotion round (backend/export/rounds.py)
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

