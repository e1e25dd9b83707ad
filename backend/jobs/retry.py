"""Re-queueing a failed job: the admin's way out after the cause of a held failure is fixed.

A job that used up its attempts is held by the queue (pgqueuer's `on_failure="hold"`: status `failed`, kept in
`jobs.pgqueuer`). Retrying it is pgqueuer's own re-queue (status `queued`, attempts back to 0, run now, a
`queued` line in `jobs.pgqueuer_log`), done in the request's transaction with the audit event, so a retry is
never queued without its record nor recorded without being queued. The handler runs as it would on any
retry: handlers are idempotent, and one whose work item was settled meanwhile does nothing.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from pgqueuer.adapters.persistence import qb
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import writer as audit
from backend.auth.principal import Principal
from backend.errors import Conflict, NotFound
from backend.jobs.queue import db_settings

_HELD = text("""
SELECT id, entrypoint, status::text AS status, attempts, dedupe_key, created FROM jobs.pgqueuer
WHERE id = :id FOR UPDATE
""")
_LOGGED = text("""
SELECT status::text AS status FROM jobs.pgqueuer_log WHERE job_id = :id ORDER BY id DESC LIMIT 1
""")
_TWIN = text("""
SELECT id FROM jobs.pgqueuer
WHERE dedupe_key = :key AND id <> :id AND status IN ('queued', 'picked') LIMIT 1
""")


class RequeuedJob(msgspec.Struct, kw_only=True):
    """A failed job put back on the queue; a worker picks it up within seconds."""

    id: int
    job: str
    status: str
    attempts_before: int
    created: datetime


async def retry_failed(session: AsyncSession, admin: Principal, job_id: int) -> RequeuedJob:
    """Put a held failed job back on the queue (404: no such job; 409: it is not failed, or a twin is queued)."""
    held = (await session.execute(_HELD, {"id": job_id})).mappings().first()
    if held is None:
        last = (await session.execute(_LOGGED, {"id": job_id})).scalar_one_or_none()
        if last is None:
            raise NotFound(f"No job #{job_id}")
        # Finished jobs leave the queue table and live on only in its log.
        raise Conflict(f"Job #{job_id} is no longer queued (last: {last}); only a failed job can be retried",
                       extra={"status": last})
    if held["status"] != "failed":
        raise Conflict(f"Job #{job_id} is {held['status']}; only a failed job can be retried",
                       extra={"status": held["status"]})
    if held["dedupe_key"] is not None:
        twin = (await session.execute(_TWIN, {"key": held["dedupe_key"], "id": job_id})).scalar_one_or_none()
        if twin is not None:
            # The queue allows one queued or running job per dedupe key: the same work is already on its way.
            raise Conflict(f"Job #{twin} for the same work is already queued or running",
                           extra={"status": "failed", "queued_job_id": twin})
    conn = await session.connection()
    # pgqueuer's own re-queue (asyncpg's $n paramstyle), inside the request's transaction.
    await conn.exec_driver_sql(qb.QueryQueueBuilder(db_settings()).build_requeue_jobs_query(), ([job_id],))
    await audit.record(session, admin, "job.retry", "job", str(job_id), role="admin",
                       before={"job": held["entrypoint"], "status": "failed", "attempts": held["attempts"]},
                       after={"job": held["entrypoint"], "status": "queued", "attempts": 0},
                       detail={"job": held["entrypoint"], "attempts_before": held["attempts"]})
    return RequeuedJob(id=job_id, job=held["entrypoint"], status="queued", attempts_before=held["attempts"],
                       created=held["created"])
