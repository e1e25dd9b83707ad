"""A worker inside the serving process (laptop mode): started with the app, stopped with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from backend.jobs.registry import Registry
from backend.jobs.worker import Worker
from backend.runtime import Runtime

log = logging.getLogger("fieldlog.jobs")

Hook = Callable[[Runtime], Awaitable[None]]


def worker_hooks(registry: Callable[[], Registry]) -> tuple[Hook, Hook]:
    """(start, stop) hooks for the app: the worker shares the app's runtime and event loop."""
    running: dict[str, tuple[Worker, asyncio.Task[None]]] = {}

    async def start(runtime: Runtime) -> None:
        settings = runtime.settings
        worker = Worker(runtime, registry(), concurrency=settings.worker_concurrency,
                        heartbeat_timeout=timedelta(seconds=settings.job_heartbeat_seconds))

        async def guarded() -> None:
            try:
                await worker.run()
            except Exception:
                log.exception("in-process worker stopped; jobs wait for `fieldlog worker` or a restart")

        running["worker"] = (worker, asyncio.create_task(guarded(), name="fieldlog-worker"))
        log.info("in-process job worker started")

    async def stop(_runtime: Runtime) -> None:
        if "worker" not in running:
            return
        worker, task = running.pop("worker")
        worker.stop()
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=15)

    return start, stop
