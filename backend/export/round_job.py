"""Builds a promotion round: for each expert of the hospital, an evidence export of its own (signed PDF +
XLSX, verification code, stored like any export) written into one ZIP on local disk, then the ZIP into
file storage.

Flat memory: one expert's documents at a time are in memory; the ZIP grows on disk and goes to storage in
chunks. Survives its node going away: the queue hands a job whose worker stopped heartbeating to another
worker, which takes the `running` round over; experts whose export is already done in this round are
reused from the database (same codes, same bytes), so the work done before the crash is not redone.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.documents import codes
from backend.export import produce
from backend.export.round_store import appraisal_label, index_sheet, upload_file
from backend.export.rounds import ZIP_TYPE
from backend.export.runner import CONTENT_TYPES, file_name
from backend.models import Appraisal, Deployment, ExportFile, ExportJob, PromotionRound, RoleGrant, User
from backend.settings import Settings
from backend.storage.base import Storage

log = logging.getLogger("fieldlog.export")
FORMATS = ("pdf", "xlsx")
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')

Maker = async_sessionmaker[AsyncSession]


async def _claim(maker: Maker, round_id: uuid.UUID) -> PromotionRound | None:
    # A re-delivered job (its worker died) takes a `running` round over; done and failed rounds stay as they are.
    async with maker() as session, session.begin():
        row = await session.scalar(
            update(PromotionRound)
            .where(PromotionRound.id == round_id, PromotionRound.status.in_(("queued", "running")))
            .values(
                status="running", progress=func.greatest(PromotionRound.progress, 1), updated_at=func.now()
            )
            .returning(PromotionRound)
        )
        if row is not None:
            session.expunge(row)
        return row


async def _experts(maker: Maker, institution_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    is_expert = exists().where(RoleGrant.user_id == User.id, RoleGrant.role == "expert")
    async with maker() as session:
        rows = await session.execute(
            select(User.id, User.name)
            .where(User.home_institution_id == institution_id, User.is_active.is_(True), is_expert)
            .order_by(User.name, User.id)
        )
        return [(r.id, r.name) for r in rows]


async def _appraisals(maker: Maker, row: PromotionRound, expert_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each expert's latest appraisal whose period overlaps the round's, as the index shows it."""
    latest = (
        select(Deployment.expert_id, Appraisal.state, Appraisal.rating, Appraisal.period_end)
        .join(Deployment, Deployment.id == Appraisal.deployment_id)
        .where(Deployment.expert_id.in_(expert_ids), Appraisal.period_start <= row.date_to,
               Appraisal.period_end >= row.date_from)
        .order_by(Deployment.expert_id, Appraisal.period_end.desc())
        .ext(distinct_on(Deployment.expert_id))
    )
    async with maker() as session:
        found = {r.expert_id: appraisal_label(r.state, r.rating, r.period_end)
                 for r in await session.execute(latest)}
    return {e: found.get(e, appraisal_label(None, None)) for e in expert_ids}


async def _step(maker: Maker, round_id: uuid.UUID, **values: Any) -> bool:
    """Record progress (the heartbeat too); False when the round is no longer running."""
    async with maker() as session, session.begin():
        result = await session.execute(
            update(PromotionRound)
            .where(PromotionRound.id == round_id, PromotionRound.status == "running")
            .values(updated_at=func.now(), **values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def _issued(
    maker: Maker, round_id: uuid.UUID, expert_id: uuid.UUID
) -> tuple[ExportJob, list[ExportFile]] | None:
    async with maker() as session:
        job = await session.scalar(
            select(ExportJob)
            .where(
                ExportJob.round_id == round_id, ExportJob.expert_id == expert_id, ExportJob.status == "done"
            )
            .limit(1)
        )
        if job is None:
            return None
        files = (await session.scalars(select(ExportFile).where(ExportFile.export_id == job.id))).all()
        session.expunge_all()
        return job, list(files)


async def _issue(
    maker: Maker, settings: Settings, row: PromotionRound, expert_id: uuid.UUID
) -> tuple[ExportJob, list[ExportFile]]:
    """One expert's export in this round: the same documents, code and verification as a single export."""
    found = await _issued(maker, row.id, expert_id)
    if found is not None:
        return found
    job = ExportJob(
        id=uuid.uuid4(),
        expert_id=expert_id,
        requested_by=row.requested_by,
        date_from=row.date_from,
        date_to=row.date_to,
        formats=list(FORMATS),
        status="running",
        progress=5,
        verification_code=codes.new_code(),
        round_id=row.id,
    )
    async with maker() as session, session.begin():
        session.add(job)
    async with maker() as session:
        evidence = await produce.load_evidence(session, job, settings)
    files = []
    for fmt in FORMATS:
        content = await asyncio.to_thread(produce.render, fmt, evidence, settings)
        files.append(
            ExportFile(
                export_id=job.id,
                format=fmt,
                file_name=file_name(evidence, fmt),
                content_type=CONTENT_TYPES[fmt],
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
            )
        )
    statement = msgspec.to_builtins(produce.statement_of(evidence))
    async with maker() as session, session.begin():
        await session.execute(
            update(ExportJob)
            .where(ExportJob.id == job.id)
            .values(
                status="done",
                progress=100,
                statement=statement,
                updated_at=func.now(),
                finished_at=func.now(),
            )
        )
        await session.execute(
            insert(ExportFile),
            [
                {
                    c: getattr(f, c)
                    for c in ("export_id", "format", "file_name", "content_type", "size", "sha256", "content")
                }
                for f in files
            ],
        )
    job.statement, job.status = statement, "done"
    return job, files


def _index_row(
    number: int, job: ExportJob, files: list[ExportFile], folder: str, settings: Settings, appraisal: str
) -> list[Any]:
    statement = job.statement or {}
    by_format = {f.format: f for f in files}
    pdf, xlsx = by_format.get("pdf"), by_format.get("xlsx")
    return [
        number,
        statement.get("expert_name", ""),
        statement.get("title") or "",
        statement.get("home_institution") or "",
        codes.display(job.verification_code),
        f"{settings.public_base_url}/verify/{codes.display(job.verification_code)}",
        statement.get("service_counted_days"),
        statement.get("entry_count"),
        statement.get("pending_count"),
        appraisal,
        f"{folder}/{pdf.file_name}" if pdf else "",
        pdf.sha256 if pdf else "",
        f"{folder}/{xlsx.file_name}" if xlsx else "",
        xlsx.sha256 if xlsx else "",
    ]


async def build_round(maker: Maker, settings: Settings, storage: Storage, round_id: uuid.UUID) -> None:
    """Build a queued (or interrupted) round to the end; a failure leaves it `failed` with a reason."""
    row = await _claim(maker, round_id)
    if row is None:
        return
    try:
        await _build(maker, settings, storage, row)
    except Exception as exc:  # noqa: BLE001 - the round reports its failure itself
        log.exception("promotion round %s failed", round_id)
        await _step(
            maker,
            round_id,
            status="failed",
            finished_at=func.now(),
            error=f"generation failed ({type(exc).__name__}); start a new round",
        )


async def _build(maker: Maker, settings: Settings, storage: Storage, row: PromotionRound) -> None:
    experts = await _experts(maker, row.institution_id)
    total = len(experts)
    if not await _step(
        maker, row.id, experts_total=total, progress=func.greatest(PromotionRound.progress, 2)
    ):
        return
    appraisals = await _appraisals(maker, row, [expert_id for expert_id, _ in experts])
    index: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="fieldlog-round-") as tmp:
        path = Path(tmp) / "round.zip"
        archive = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_STORED
        )  # PDF and XLSX are compressed already
        try:
            for number, (expert_id, name) in enumerate(experts, start=1):
                job, files = await _issue(maker, settings, row, expert_id)
                folder = f"{number:04d}_{_UNSAFE.sub('_', name).strip('_') or 'expert'}"
                for f in files:
                    await asyncio.to_thread(archive.writestr, f"{folder}/{f.file_name}", f.content)
                index.append(_index_row(number, job, files, folder, settings, appraisals[expert_id]))
                del files, job
                progress = 2 + (93 * number) // max(total, 1)
                if not await _step(maker, row.id, experts_done=number, progress=progress):
                    return
            sheet = await asyncio.to_thread(index_sheet, index)
            await asyncio.to_thread(archive.writestr, "00_索引.xlsx", sheet, zipfile.ZIP_DEFLATED)
        finally:
            await asyncio.to_thread(archive.close)
        key = f"rounds/{row.id}.zip"
        size, sha256 = await upload_file(storage, key, path, ZIP_TYPE)
    await _step(
        maker,
        row.id,
        status="done",
        progress=100,
        storage_key=key,
        size=size,
        sha256=sha256,
        finished_at=func.now(),
    )


async def run_job(ctx: Any, payload: dict[str, Any]) -> None:
    """The queue's handler (via backend/export/jobs.py): the worker's storage, or one of its own for this job."""
    from backend.storage import EXTRA_KEY, build_storage

    runtime = ctx.runtime
    storage: Storage | None = runtime.extras.get(EXTRA_KEY)
    own = storage is None
    if storage is None:
        storage = await asyncio.to_thread(build_storage, runtime.settings)
        await storage.start()
    try:
        await build_round(runtime.sessionmaker, runtime.settings, storage, uuid.UUID(payload["round_id"]))
    finally:
        if own:
            await storage.close()
