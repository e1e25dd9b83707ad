"""How an evidence export is produced: read everything the document states, then render each format.

The export runner (job handling, progress, storage) calls these two; they know nothing about jobs beyond
the job's expert, period and code. `render` is blocking CPU work (and the PDF signature runs pyHanko's own
event loop): call it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.appraisal.queries import appraisals_for_expert
from backend.documents import queries
from backend.export import csv, pdf, service_days, xlsx
from backend.export.evidence import AppraisalEntry, Evidence
from backend.export.schemas import TypeTotal, Verification
from backend.export.service import verify_url
from backend.models import ExportJob
from backend.settings import Settings


def _pdf(evidence: Evidence, settings: Settings) -> bytes:
    return pdf.render_signed(evidence, settings)


def _xlsx(evidence: Evidence, settings: Settings) -> bytes:
    return xlsx.render(evidence, ZoneInfo(settings.timezone))


def _csv(evidence: Evidence, settings: Settings) -> bytes:
    return csv.render(evidence, ZoneInfo(settings.timezone))


RENDERERS: dict[str, Callable[[Evidence, Settings], bytes]] = {"pdf": _pdf, "xlsx": _xlsx, "csv": _csv}


def render(fmt: str, evidence: Evidence, settings: Settings) -> bytes:
    """The final bytes of one format (the PDF signed): what is stored, hashed and handed out."""
    return RENDERERS[fmt](evidence, settings)


async def load_evidence(
    session: AsyncSession,
    job: ExportJob,
    settings: Settings,
    on_progress: Callable[[int], Any] | None = None,
) -> Evidence:
    """Everything the document states, straight from the approved entries. `on_progress(30)` is awaited
    halfway when given (the runner records it as the job's heartbeat)."""
    args = (job.expert_id, job.date_from, job.date_to)
    expert = await queries.expert_header(session, job.expert_id)
    if expert is None:
        raise LookupError(f"expert {job.expert_id} vanished")
    deployments = await queries.deployments(session, *args)
    totals, months = await queries.figures(session, *args)
    by_type = await queries.type_counts(session, *args)
    surgeries = await queries.surgery_counts(session, *args)
    if on_progress is not None:
        await on_progress(30)
    entries = await queries.entry_lines(session, *args)
    pending = await queries.pending_count(session, *args)
    issued_at = datetime.now(UTC)
    today = issued_at.astimezone(ZoneInfo(settings.timezone)).date()
    service = await service_days.service(session, job.expert_id, min(job.date_to, today), settings.service_rules)
    appraisals = [
        AppraisalEntry(
            recipient=a.recipient,
            department=a.department,
            period_start=a.period_start,
            period_end=a.period_end,
            rating_label=a.rating_label,
            rated_by=a.rated_by,
            rated_at=a.rated_at,
            countersigned_by=a.countersigned_by,
            countersigned_at=a.countersigned_at,
        )
        for a in await appraisals_for_expert(session, job.expert_id, job.date_from, job.date_to)
    ]
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
        issued_at=issued_at,
        verification_code=job.verification_code,
        verify_url=verify_url(settings, job.verification_code),
        service=service,
        appraisals=appraisals,
    )


def statement_of(evidence: Evidence) -> Verification:
    """What the document states, as the public verification page will show it (files added on read)."""
    service = evidence.service
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
        service_as_of=service.as_of if service else None,
        service_counted_days=service.counted_days if service else None,
        service_required_days=service.required_days if service else None,
    )
