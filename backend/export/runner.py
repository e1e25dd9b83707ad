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
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import func, insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.export import csv, pdf, queries, xlsx
from backend.export.content import Evidence
from backend.export.schemas import TypeTotal, Verification
from backend.export.service import verify_url
from backend.models import ExportFile, ExportJob
from backend.settings import Settings

log = logging.getLogger("fieldlog.export")

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
_RENDERERS = {"pdf": pdf.render, "xlsx": xlsx.render, "csv": csv.render}
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\s]+')


def file_name(evidence: Evidence, fmt: str) -> str:
    """`派驻工作量证明_张三_2025-01-01_2025-12-31.pdf`, without characters a file system refuses."""
    name = _UNSAFE_NAME.sub("_", evidence.expert.name).strip("_") or "expert"
    return f"派驻工作量证明_{name}_{evidence.date_from}_{evidence.date_to}.{fmt}"


def statement_of(evidence: Evidence) -> Verification:
    """What the document states, as the public verification page will show it (files added on read)."""
    return Verification(
        verification_code=evidence.verification_code,
        expert_name=evidence.expert.name,
        title=evidence.expert.title,
        home_institution=evidence.expert.home_institution,
        date_from=evidence.date_from,
        date_to=evidence.date_to,
        issued_at=evidence.issued_at,
        totals=evidence.totals,
        by_type=[
            TypeTotal(activity_type=t.activity_type, label=t.label, count=t.count) for t in evidence.by_type
        ],
        entry_count=len(evidence.entries),
        pending_count=evidence.pending_count,
        files=[],
    )


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


async def load_evidence(
    session: AsyncSession,
    job: ExportJob,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> Evidence:
    """Everything the document states, straight from the approved entries."""
    args = (job.expert_id, job.date_from, job.date_to)
    expert = await queries.expert_header(session, job.expert_id)
    if expert is None:
        raise LookupError(f"expert {job.expert_id} vanished")
    deployments = await queries.deployments(session, *args)
    totals, months = await queries.figures(session, *args)
    by_type = await queries.type_counts(session, *args)
    surgeries = await queries.surgery_counts(session, *args)
    if sessionmaker is not None:
        await _progress(sessionmaker, job.id, 30)
    entries = await queries.entry_lines(session, *args)
    pending = await queries.pending_count(session, *args)
    return Evidence(
        expert=expert,
        date_from=job.date_from,
        date_to=job.date_to,
        deployments=deployments,
        totals=totals,
        months=months,
        by_type=by_type,
        surgeries=surgeries,
        entries=entries,
        pending_count=pending,
        issued_at=datetime.now(UTC),
        verification_code=job.verification_code,
        verify_url=verify_url(settings, job.verification_code),
    )


async def run_export(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, export_id: uuid.UUID
) -> None:
    """Render a queued export to the end; any failure leaves it `failed` with a reason, never half-written."""
    engine = sessionmaker.kw["bind"]
    key = int.from_bytes(export_id.bytes[:8], "big", signed=True)
    async with engine.connect() as conn:
        lock = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if not await lock.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
            return  # another worker is rendering it right now
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
    try:
        await _run(sessionmaker, settings, job)
    except Exception as exc:  # noqa: BLE001 - a background job reports its failure on the job itself
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
    tz = ZoneInfo(settings.timezone)
    async with sessionmaker() as session:
        evidence = await load_evidence(session, job, settings, sessionmaker)
    if not await _progress(sessionmaker, job.id, 50):
        return
    rendered: dict[str, bytes] = {}
    step = 45 // max(len(job.formats), 1)
    for i, fmt in enumerate(job.formats):
        # Rendering is CPU work; a thread keeps the event loop answering other requests meanwhile.
        rendered[fmt] = await asyncio.to_thread(_RENDERERS[fmt], evidence, tz)
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
