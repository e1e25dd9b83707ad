"""The export job: read the evidence, render each format, store the files and the statement.

Runs on the job queue (backend/jobs: the request enqueues it in its own transaction, a worker picks it up),
in short transactions of its own so progress is visible to other requests and other API nodes. The files and
the `done` state are written in one transaction: a job is never done with a file missing. While it renders,
the worker holds a session advisory lock on the export: a second delivery of the same job (a worker that
was only slow) leaves it alone, and a worker that died releases it with its connection, so the queue's next
delivery takes over the `running` export and finishes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid

import msgspec
from sqlalchemy import func, insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.export.evidence import Evidence
from backend.export.produce import load_evidence, render, statement_of
from backend.metrics.series import EXPORT_DURATION
from backend.models import ExportFile, ExportJob
from backend.settings import Settings

log = logging.getLogger("fieldlog.export")

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\s]+')


def file_name(evidence: Evidence, fmt: str) -> str:
    """`派驻工作量证明_张三_2025-01-01_2025-12-31.pdf`, without characters a file system refuses."""
    name = _UNSAFE_NAME.sub("_", evidence.expert.name).strip("_") or "expert"
    return f"派驻工作量证明_{name}_{evidence.date_from}_{evidence.date_to}.{fmt}"


async def _progress(
    sessionmaker: async_sessionmaker[AsyncSession], export_id: uuid.UUID, progress: int, **values: object
) -> bool:
    """Record progress (and the heartbeat); False when the job is no longer running (e.g. marked stale)."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            update(ExportJob)
            .where(ExportJob.id == export_id, ExportJob.status == "running")
            .values(progress=progress, updated_at=func.now(), **values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], export_id: uuid.UUID) -> ExportJob | None:
    # Called with the export's advisory lock held: a `running` export is one whose worker died mid-way.
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            update(ExportJob)
            .where(ExportJob.id == export_id, ExportJob.status.in_(("queued", "running")))
            .values(status="running", progress=5, updated_at=func.now())
            .returning(ExportJob)
        )
        job = result.scalar_one_or_none()
        if job is not None:
            session.expunge(job)
        return job


async def run_export(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, export_id: uuid.UUID
) -> None:
    """Render a queued export to the end; any failure leaves it `failed` with a reason, never half-written."""
    engine = sessionmaker.kw["bind"]
    key = int.from_bytes(export_id.bytes[:8], "big", signed=True)
    async with engine.connect() as conn:
        lock = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if not await lock.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
            log.info("export %s is being rendered by another worker; leaving it", export_id)
            return
        try:
            await _claimed_run(sessionmaker, settings, export_id)
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


async def _claimed_run(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, export_id: uuid.UUID
) -> None:
    job = await _claim(sessionmaker, export_id)
    if job is None:
        return
    started = time.perf_counter()
    try:
        await _run(sessionmaker, settings, job)
        EXPORT_DURATION.labels("done").observe(time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - a background job reports its failure on the job itself
        EXPORT_DURATION.labels("failed").observe(time.perf_counter() - started)
        log.exception("export %s failed", export_id)
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(ExportJob)
                .where(ExportJob.id == export_id, ExportJob.status == "running")
                .values(
                    status="failed",
                    error=f"generation failed ({type(exc).__name__}); start a new export",
                    updated_at=func.now(),
                    finished_at=func.now(),
                )
            )


async def _run(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, job: ExportJob) -> None:
    async with sessionmaker() as session:
        evidence = await load_evidence(
            session, job, settings, on_progress=lambda p: _progress(sessionmaker, job.id, p)
        )
    if not await _progress(sessionmaker, job.id, 50):
        return
    rendered: dict[str, bytes] = {}
    step = 45 // max(len(job.formats), 1)
    for i, fmt in enumerate(job.formats):
        # Rendering is CPU work; a thread keeps the event loop answering other requests meanwhile.
        # The PDF comes back signed: these are the final bytes, hashed below and never changed after.
        rendered[fmt] = await asyncio.to_thread(render, fmt, evidence, settings)
        if not await _progress(sessionmaker, job.id, 50 + step * (i + 1)):
            return
    statement = msgspec.to_builtins(statement_of(evidence))
    async with sessionmaker() as session, session.begin():
        done = await session.execute(
            update(ExportJob)
            .where(ExportJob.id == job.id, ExportJob.status == "running")
            .values(
                status="done",
                progress=100,
                statement=statement,
                updated_at=func.now(),
                finished_at=func.now(),
            )
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            return  # marked failed meanwhile: leave it failed rather than resurrect it
        await session.execute(
            insert(ExportFile),
            [
                {
                    "export_id": job.id,
                    "format": fmt,
                    "file_name": file_name(evidence, fmt),
                    "content_type": CONTENT_TYPES[fmt],
                    "size": len(content),
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "content": content,
                }
                for fmt, content in rendered.items()
            ],
        )
