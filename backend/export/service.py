"""Use cases of the evidence export: start one, follow it, download its files.

A request records the job (queued), audits it and enqueues it on the job queue in the same transaction; a
worker renders it (`backend.export.runner`). A running export without progress for STALE_AFTER is marked
failed on the next read, so nobody waits on it forever; a queued one only waits for a free worker.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import writer
from backend.auth.principal import Principal
from backend.documents import codes
from backend.errors import Conflict, FieldError, InvalidInput, NotFound
from backend.export.access import exportable_experts
from backend.export.schemas import ExportCreate, ExportFileView, ExportJob
from backend.models import ExportFile, User
from backend.models import ExportJob as JobRow
from backend.settings import Settings

STALE_AFTER = timedelta(minutes=10)
MAX_PERIOD_DAYS = 3660


class Download(msgspec.Struct, kw_only=True):
    """A stored file, ready to send."""

    file_name: str
    content_type: str
    content: bytes
    sha256: str


def verify_url(settings: Settings, code: str) -> str:
    return f"{settings.public_base_url}/verify/{codes.display(code)}"


def check_period(data: ExportCreate) -> list[FieldError]:
    """The hard rules of a request, on plain values."""
    errors: list[FieldError] = []
    if data.date_to < data.date_from:
        errors.append(FieldError(field="date_to", code="before_start", message="date_to is before date_from"))
    elif (data.date_to - data.date_from).days >= MAX_PERIOD_DAYS:
        errors.append(FieldError(field="date_to", code="too_long", message=f"at most {MAX_PERIOD_DAYS} days"))
    if len(set(data.formats)) != len(data.formats):
        errors.append(FieldError(field="formats", code="duplicate", message="each format at most once"))
    return errors


async def create_export(
    session: AsyncSession, principal: Principal, data: ExportCreate, settings: Settings
) -> ExportJob:
    """Record a queued export of an expert the caller may export; anyone else's expert is "not found"."""
    if errors := check_period(data):
        raise InvalidInput(errors=errors)
    expert = (
        await session.execute(
            select(User.id, User.home_institution_id).where(
                User.id == data.expert_id, exportable_experts(principal)
            )
        )
    ).one_or_none()
    if expert is None:
        raise NotFound("No such expert")
    job = JobRow(
        id=uuid.uuid4(),
        expert_id=expert.id,
        requested_by=principal.user_id,
        date_from=data.date_from,
        date_to=data.date_to,
        formats=list(data.formats),
        status="queued",
        progress=0,
        verification_code=codes.new_code(),
    )
    session.add(job)
    await session.flush()
    what = {
        "expert_id": str(job.expert_id),
        "date_from": job.date_from.isoformat(),
        "date_to": job.date_to.isoformat(),
        "formats": job.formats,
    }
    # The code stays out of the readable detail: it is the key to the public page.
    await writer.record(
        session,
        principal,
        "export.create",
        "export",
        job.id,
        institution_id=expert.home_institution_id,
        after={**what, "verification_code": job.verification_code},
        detail=what,
    )
    await session.refresh(job)
    return _view(job, [], settings)


async def _job_in_scope(session: AsyncSession, principal: Principal, export_id: uuid.UUID) -> JobRow:
    # The job is visible to whoever may export its expert (the expert, their home HR, admin).
    job = (
        await session.execute(
            select(JobRow)
            .join(User, User.id == JobRow.expert_id)
            .where(JobRow.id == export_id, exportable_experts(principal))
        )
    ).scalar_one_or_none()
    if job is None:
        raise NotFound("No such export")
    return job


async def fail_if_stale(
    session: AsyncSession, export_id: uuid.UUID, stale_after: timedelta = STALE_AFTER
) -> None:
    await session.execute(
        update(JobRow)
        .where(
            JobRow.id == export_id,
            # Only a running export can go silent: a queued one waits for a free worker (the job queue holds it
            # and re-delivers it if a worker dies), however long a promotion round ahead of it takes.
            JobRow.status == "running",
            JobRow.updated_at < func.now() - stale_after,
        )
        .values(
            status="failed",
            error="interrupted: the export stopped before finishing; start a new one",
            finished_at=func.now(),
        )
    )


async def get_export(
    session: AsyncSession,
    principal: Principal,
    export_id: uuid.UUID,
    settings: Settings,
    *,
    stale_after: timedelta = STALE_AFTER,
) -> ExportJob:
    job = await _job_in_scope(session, principal, export_id)
    await fail_if_stale(session, export_id, stale_after)
    await session.refresh(job)
    files = (
        await session.execute(
            select(
                ExportFile.format,
                ExportFile.file_name,
                ExportFile.content_type,
                ExportFile.size,
                ExportFile.sha256,
            ).where(ExportFile.export_id == export_id)
        )
    ).all()
    return _view(job, files, settings)


async def download(session: AsyncSession, principal: Principal, export_id: uuid.UUID, fmt: str) -> Download:
    job = await _job_in_scope(session, principal, export_id)
    if job.status != "done":
        raise Conflict(
            f"The export is {job.status}; files are available once it is done",
            extra={"status": job.status, "progress": job.progress},
        )
    row = (
        await session.execute(
            select(ExportFile).where(ExportFile.export_id == export_id, ExportFile.format == fmt)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("This export has no file in that format")
    return Download(
        file_name=row.file_name, content_type=row.content_type, content=row.content, sha256=row.sha256
    )


def _view(job: JobRow, files: list[Any], settings: Settings) -> ExportJob:
    base = f"/api/v1/exports/{job.id}/files"
    return ExportJob(
        id=job.id,
        expert_id=job.expert_id,
        date_from=job.date_from,
        date_to=job.date_to,
        formats=job.formats,
        status=job.status,
        progress=job.progress,
        error=job.error,
        verification_code=codes.display(job.verification_code),
        verify_url=verify_url(settings, job.verification_code),
        created_at=job.created_at,
        finished_at=job.finished_at,
        files=[
            ExportFileView(
                format=f.format,
                file_name=f.file_name,
                content_type=f.content_type,
                size=f.size,
                sha256=f.sha256,
                download_url=f"{base}/{f.format}",
            )
            for f in files
        ],
    )
