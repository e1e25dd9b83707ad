"""Series read from the database at scrape time: work waiting in queues, whichever node wrote it.

These are the same for every node (they are rows, not process state), so they are computed fresh at each
scrape rather than kept per process. The job queue (backend/jobs, issue 10) is read when its table exists;
the export queue (`exports`) always. A scrape never waits long on a sick database: it reports
`fieldlog_scrape_database_up 0` instead.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("fieldlog.metrics")
SCRAPE_DB_SECONDS = 2.0
_EXPORTS = text("SELECT status, count(*) AS n FROM exports GROUP BY status")
# The job queue's table and its state column, found at scrape time: a node may run before its migration.
_JOB_TABLE = text("""
SELECT column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = 'jobs' AND column_name IN ('state', 'status')
ORDER BY column_name LIMIT 1
""")
_JOB_COUNTS = {col: text(f"SELECT {col} AS state, count(*) AS n FROM jobs GROUP BY {col}")  # noqa: S608 - fixed names
               for col in ("state", "status")}


async def _counts(engine: AsyncEngine) -> tuple[dict[str, int], dict[str, int] | None]:
    async with engine.connect() as conn:
        await conn.execute(text("SET LOCAL statement_timeout = '1500ms'"))
        exports = {r.status: int(r.n) for r in await conn.execute(_EXPORTS)}
        column = (await conn.execute(_JOB_TABLE)).scalar()
        jobs = {str(r.state): int(r.n) for r in await conn.execute(_JOB_COUNTS[column])} if column else None
    return exports, jobs


async def database_registry(engine: AsyncEngine) -> CollectorRegistry:
    """A registry of this scrape's database-side gauges."""
    registry = CollectorRegistry()
    up = Gauge("fieldlog_scrape_database_up", "1 when this scrape could read the queue tables", registry=registry)
    try:
        exports, jobs = await asyncio.wait_for(_counts(engine), SCRAPE_DB_SECONDS)
    except Exception:  # noqa: BLE001 - a scrape reports a sick database as a value, never as an error
        log.warning("metrics scrape could not read the database", exc_info=True)
        up.set(0)
        return registry
    up.set(1)
    export_gauge = Gauge("fieldlog_exports", "Evidence exports by status", ["status"], registry=registry)
    for status in ("queued", "running", "done", "failed"):
        export_gauge.labels(status).set(exports.get(status, 0))
    if jobs is not None:
        job_gauge = Gauge("fieldlog_jobs", "Background jobs by state (backend/jobs)", ["state"], registry=registry)
        for state, n in sorted(jobs.items()):
            job_gauge.labels(state).set(n)
    return registry
