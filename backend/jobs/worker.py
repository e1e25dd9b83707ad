"""Running jobs: one worker = pgqueuer's queue manager (jobs) plus its scheduler (periodic ticks), sharing a pool.

Several workers, on one machine or many, share the queue: each job is picked by one worker, a job whose worker
stops sending heartbeats is picked again by another after `heartbeat_timeout`, and each cron tick is claimed by
one scheduler (the periodic job's dedupe key makes a second claim of the same period a no-op).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from pgqueuer.adapters.drivers.asyncpg import AsyncpgPoolDriver
from pgqueuer.core.qm import QueueManager
from pgqueuer.core.sm import SchedulerManager
from pgqueuer.domain import models, types
from pgqueuer.domain.errors import RetryRequested

from backend.db.engine import plain_url
from backend.jobs import queue
from backend.jobs.registry import Job, JobContext, Periodic, Registry
from backend.runtime import Runtime
from backend.settings import Settings

log = logging.getLogger("fieldlog.jobs")


def _entry(job: Job, runtime: Runtime, now: Callable[[], datetime]) -> Callable[[models.Job], object]:
    async def run(picked: models.Job) -> None:
        ctx = JobContext(runtime=runtime, job_id=int(picked.id), attempt=picked.attempts + 1, now=now)
        try:
            await job.run(ctx, queue.decode(picked.payload))
        except Exception as exc:
            if ctx.attempt >= job.max_attempts:
                log.error("job %s #%s failed for good after %s attempts (%s)", job.name, ctx.job_id,
                          ctx.attempt, type(exc).__name__)
                raise
            delay = exc.delay if isinstance(exc, RetryRequested) else job.backoff(ctx.attempt)
            log.warning("job %s #%s attempt %s failed (%s); retry in %s", job.name, ctx.job_id, ctx.attempt,
                        type(exc).__name__, delay)
            raise RetryRequested(delay=delay, reason=type(exc).__name__) from exc

    return run


def _tick(rule: Periodic, manager: QueueManager) -> Callable[[models.Schedule], object]:
    async def fire(_schedule: models.Schedule) -> None:
        now = datetime.now(UTC)
        await manager.queries.enqueue(
            rule.job, queue.encode({"period": rule.period(now), "at": now.isoformat()}),
            dedupe_key=rule.dedupe_key(now), on_conflict="skip",
        )

    return fire


class Worker:
    """One worker process's (or task's) view of the queue."""

    def __init__(
        self,
        runtime: Runtime,
        registry: Registry,
        *,
        concurrency: int = 4,
        heartbeat_timeout: timedelta = timedelta(seconds=30),
        schedules: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.runtime = runtime
        self.registry = registry
        self.concurrency = max(2, concurrency)
        self.heartbeat_timeout = heartbeat_timeout
        self.schedules = schedules and bool(registry.periodic)
        self.now = now
        self.stopping = asyncio.Event()

    def _managers(self, pool: asyncpg.Pool) -> tuple[QueueManager, SchedulerManager]:
        driver = AsyncpgPoolDriver(pool)
        qm = QueueManager(queue.queries(driver), channel=types.Channel(queue.db_settings().channel))
        for job in self.registry.jobs.values():
            qm.entrypoint(job.name, concurrency_limit=job.concurrency, on_failure="hold",
                          accepts_context=False)(_entry(job, self.runtime, self.now))
        sm = SchedulerManager(queue.queries(driver))
        for rule in self.registry.periodic:
            sm.schedule(f"tick:{rule.job}", rule.cron, accepts_context=False)(_tick(rule, qm))
        return qm, sm

    async def run(self, *, drain: bool = False) -> None:
        """Work until `stop()` (or, with `drain`, until no job is ready and none is running)."""
        pool = await asyncpg.create_pool(plain_url(self.runtime.database_url), min_size=1,
                                         max_size=self.concurrency + 3)
        try:
            qm, sm = self._managers(pool)
            tasks = [asyncio.create_task(qm.run(
                batch_size=max(1, self.concurrency // 2), max_concurrent_tasks=self.concurrency,
                heartbeat_timeout=self.heartbeat_timeout,
                dequeue_timeout=min(timedelta(seconds=10), self.heartbeat_timeout),
            ))]
            if self.schedules and not drain:
                tasks.append(asyncio.create_task(sm.run()))
            if drain:
                tasks.append(asyncio.create_task(self._stop_when_idle(pool)))
            stopper = asyncio.create_task(self.stopping.wait())
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            qm.shutdown.set()
            sm.shutdown.set()
            stopper.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    raise result
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), timeout=10)

    def stop(self) -> None:
        self.stopping.set()

    async def _stop_when_idle(self, pool: asyncpg.Pool) -> None:
        # pgqueuer's own drain mode also waits for jobs deferred to later (retries); ours stops once nothing is
        # ready now and nothing is running, twice in a row (a finishing job may enqueue the next one).
        sql = ("SELECT count(*) FROM jobs.pgqueuer WHERE entrypoint = ANY($1) AND "
               "(status = 'picked' OR (status = 'queued' AND execute_after <= now()))")
        names = list(self.registry.jobs)
        idle = 0
        while idle < 2:
            await asyncio.sleep(0.2)
            idle = idle + 1 if await pool.fetchval(sql, names) == 0 else 0
        self.stop()


async def drain(runtime: Runtime, registry: Registry) -> None:
    """Run every job of `registry` that is ready now to the end, then return (the catalogue's `drain`, tests)."""
    await Worker(runtime, registry, schedules=False).run(drain=True)


async def drain_database(settings: Settings, database_url: str, registry: Registry) -> None:
    """`drain` on a runtime of its own (for callers on another event loop than the app's, e.g. test clients)."""
    runtime = Runtime.build(settings, database_url)
    try:
        await drain(runtime, registry)
    finally:
        await runtime.engine.dispose()
