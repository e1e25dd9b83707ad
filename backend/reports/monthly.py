"""Read side of the monthly summary: the month's logs of one expert, approved and pending apart.

Approved figures and lines are the evidence document's own queries (backend.documents.queries), so a
summary and an evidence export of the same month state the same numbers. Every function takes an expert
the caller has already been allowed to read (backend.reports.summaries checks scope first).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import case, cast, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents import queries
from backend.documents.content import key_figures, type_label
from backend.models import Deployment, Entry, Institution, Trainee
from backend.reports.figures import figures_of, type_counts
from backend.reports.rules import month_end
from backend.reports.schemas import SummaryContent, SummaryEntry


def overlapping(expert_id: uuid.UUID, first: date, last: date) -> Any:
    """The expert's stays (not cancelled) that touch first..last."""
    return (
        Deployment.expert_id == expert_id,
        Deployment.status != "cancelled",
        Deployment.starts_on <= last,
        func.coalesce(Deployment.actual_end, Deployment.planned_end, last) >= first,
    )


async def recipients_in_month(session: AsyncSession, expert_id: uuid.UUID, month: date) -> list[uuid.UUID]:
    """Recipient hospitals where the expert was stationed during the month: their supervisors review it."""
    rows = await session.execute(
        select(Deployment.recipient_id).where(*overlapping(expert_id, month, month_end(month)))
        .group_by(Deployment.recipient_id).order_by(Deployment.recipient_id)
    )
    return list(rows.scalars())


async def _pending(session: AsyncSession, expert_id: uuid.UUID, first: date, last: date) -> list[Any]:
    trainee_text = Entry.fields["trainee_id"].astext
    trainee_id = case((trainee_text.op("~")(queries.UUID_PATTERN), cast(trainee_text, UUID(as_uuid=True))),
                      else_=None)
    stmt = (
        select(Entry.id, Entry.work_date, Entry.activity_type, Entry.fields, Entry.duration_minutes,
               Institution.name.label("recipient"), Trainee.name.label("trainee"))
        .join(Deployment, Deployment.id == Entry.deployment_id)
        .join(Institution, Institution.id == Entry.institution_id)
        .outerjoin(Trainee, Trainee.id == trainee_id)
        .where(Entry.expert_id == expert_id, Entry.status == "submitted", Entry.deleted_at.is_(None),
               Deployment.status != "cancelled", Entry.work_date.between(first, last))
        .order_by(Entry.work_date, Entry.activity_type, Entry.created_at, Entry.id)
    )
    return list((await session.execute(stmt)).all())


async def month_content(session: AsyncSession, expert_id: uuid.UUID, month: date) -> SummaryContent:
    """The draft the logs give for the month: approved (counted) figures and lines, pending ones apart."""
    first, last = month, month_end(month)
    approved, _ = await queries.figures(session, expert_id, first, last)
    approved_lines = await queries.entry_lines(session, expert_id, first, last)
    pending_rows = await _pending(session, expert_id, first, last)
    unsent = await session.scalar(
        select(func.count()).select_from(Entry).where(
            Entry.expert_id == expert_id, Entry.status.in_(("draft", "returned")), Entry.deleted_at.is_(None),
            Entry.work_date.between(first, last)))
    entries = [
        SummaryEntry(id=e.id, status="approved", work_date=e.work_date, activity_type=e.activity_type,
                     type_label=e.type_label, figures=e.figures, recipient=e.recipient, approved_by=e.approved_by,
                     approved_at=e.approved_at)
        for e in approved_lines
    ] + [
        SummaryEntry(id=r.id, status="pending", work_date=r.work_date, activity_type=r.activity_type,
                     type_label=type_label(r.activity_type), figures=key_figures(r.activity_type, r.fields, r.trainee),
                     recipient=r.recipient)
        for r in pending_rows
    ]
    entries.sort(key=lambda e: (e.work_date, e.status, e.activity_type, str(e.id)))
    return SummaryContent(
        deployments=await queries.deployments(session, expert_id, first, last),
        approved=approved,
        approved_by_type=await queries.type_counts(session, expert_id, first, last),
        pending=figures_of((r.activity_type, r.fields or {}, r.duration_minutes) for r in pending_rows),
        pending_by_type=type_counts(r.activity_type for r in pending_rows),
        unsent_entries=int(unsent or 0),
        entries=entries,
    )
