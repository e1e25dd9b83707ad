"""`fieldlog worker`: run background jobs (exports, reminders, the daily horizon purge) from the job queue."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from backend.cli.core import command, database_url
from backend.settings import Settings


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--concurrency", type=int, help="jobs run at once by this worker (default FIELDLOG_WORKER_CONCURRENCY)")
    p.add_argument("--drain", action="store_true", help="run the jobs that are ready, then exit (no periodic ticks)")


@command("worker", "run background jobs from the PostgreSQL job queue (start one or more per deployment)", _configure)
def cmd_worker(settings: Settings, args: Any) -> int:
    from datetime import timedelta

    from backend.app import job_registry
    from backend.db.migrate import upgrade
    from backend.http.middleware import configure_logging
    from backend.jobs.worker import Worker
    from backend.runtime import Runtime
    from backend.storage import start_storage, stop_storage

    configure_logging(settings.log_level)
    keep: list[Any] = []
    embedded = settings.database_url is None
    url = database_url(settings, keep=keep)
    if embedded:
        upgrade(url)  # laptop mode: the same one-command promise as `serve`

    async def run() -> None:
        runtime = Runtime.build(settings, url)
        await start_storage(runtime)
        worker = Worker(runtime, job_registry(), concurrency=args.concurrency or settings.worker_concurrency,
                        heartbeat_timeout=timedelta(seconds=settings.job_heartbeat_seconds))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)  # running jobs finish, then the worker exits
        print(f"fieldlog worker running (database: {'embedded' if embedded else 'DATABASE_URL'})", flush=True)
        try:
            await worker.run(drain=args.drain)
        finally:
            await stop_storage(runtime)
            await runtime.engine.dispose()

    asyncio.run(run())
    return 0
