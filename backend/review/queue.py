"""The supervisor's review queue: submitted entries at their hospitals, by expert and ISO week.

A read-side query module: PostgreSQL filters and orders; Python only folds rows into groups.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.models import Deployment, Device, Entry, User
from backend.review.schemas import QueueGroup, QueueItem, ReviewQueue, SilentExpert
from backend.settings import Settings
from backend.worklog.states import EntryStatus

MAX_QUEUE_ITEMS = 5000


@dataclass(frozen=True)
class QueueFilter:
    institution_id: uuid.UUID | None = None
    expert_id: uuid.UUID | None = None
    activity_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def pending_days(submitted_at: datetime | None, now: datetime) -> int:
    return (now - submitted_at).days if submitted_at else 0


async def _last_syncs(session: AsyncSession, expert_ids: set[uuid.UUID]) -> dict[uuid.UUID, datetime | None]:
    if not expert_ids:
        return {}
    rows = await session.execute(select(Device.user_id, func.max(Device.last_sync_at))
                                 .where(Device.user_id.in_(expert_ids)).group_by(Device.user_id))
    found: dict[uuid.UUID, datetime | None] = dict.fromkeys(expert_ids)
    found.update({user_id: last for user_id, last in rows})
    return found


async def review_queue(session: AsyncSession, principal: Principal, filters: QueueFilter,
                       settings: Settings) -> ReviewQueue:
    """Submitted entries at the caller's hospitals (a hospital outside them filters to nothing)."""
    hospitals = set(principal.supervised)
    if filters.institution_id is not None:
        hospitals &= {filters.institution_id}
    now = datetime.now(UTC)
    limit = timedelta(days=settings.review_overdue_days)
    query = (
        select(Entry, User.name)
        .join(User, User.id == Entry.expert_id)
        .where(Entry.institution_id.in_(hospitals), Entry.status == EntryStatus.submitted.value,
               Entry.deleted_at.is_(None))
    )
    if filters.expert_id is not None:
        query = query.where(Entry.expert_id == filters.expert_id)
    if filters.activity_type is not None:
        query = query.where(Entry.activity_type == filters.activity_type)
    if filters.date_from is not None:
        query = query.where(Entry.work_date >= filters.date_from)
    if filters.date_to is not None:
        query = query.where(Entry.work_date <= filters.date_to)
    rows = (await session.execute(
        query.order_by(Entry.expert_id, Entry.institution_id, Entry.work_date, Entry.id).limit(MAX_QUEUE_ITEMS)
    )).all() if hospitals else []
    syncs = await _last_syncs(session, {entry.expert_id for entry, _ in rows})
    groups: dict[tuple[uuid.UUID, uuid.UUID, date], QueueGroup] = {}
    for entry, name in rows:
        monday = entry.work_date - timedelta(days=entry.work_date.weekday())
        group = groups.get((entry.expert_id, entry.institution_id, monday))
        if group is None:
            last_sync = syncs.get(entry.expert_id)
            year, week, _ = monday.isocalendar()
            group = groups[(entry.expert_id, entry.institution_id, monday)] = QueueGroup(
                expert_id=entry.expert_id, expert_name=name, institution_id=entry.institution_id, iso_year=year,
                iso_week=week, week_start=monday, counts={}, total=0, oldest_submitted_at=None,
                oldest_pending_days=0, overdue=0, expert_last_sync_at=last_sync,
                expert_sync_overdue=last_sync is None or now - last_sync > limit, items=[])
        days = pending_days(entry.submitted_at, now)
        overdue = entry.submitted_at is not None and now - entry.submitted_at > limit
        group.items.append(QueueItem(id=entry.id, version=entry.version, work_date=entry.work_date,
                                     activity_type=entry.activity_type, submitted_at=entry.submitted_at,
                                     pending_days=days, overdue=overdue, revision_of=entry.revision_of,
                                     fields=entry.fields))
        group.counts[entry.activity_type] = group.counts.get(entry.activity_type, 0) + 1
        group.total += 1
        group.overdue += overdue
        if entry.submitted_at and (group.oldest_submitted_at is None or entry.submitted_at < group.oldest_submitted_at):
            group.oldest_submitted_at = entry.submitted_at
            group.oldest_pending_days = days
    ordered = sorted(groups.values(), key=lambda g: (g.oldest_submitted_at or now, g.expert_name, g.week_start))
    counts: dict[str, int] = {}
    for group in ordered:
        for key, n in group.counts.items():
            counts[key] = counts.get(key, 0) + n
    return ReviewQueue(
        overdue_days=settings.review_overdue_days, total=sum(g.total for g in ordered),
        overdue=sum(g.overdue for g in ordered), counts=dict(sorted(counts.items())),
        oldest_pending_days=max((g.oldest_pending_days for g in ordered), default=0), groups=ordered,
        silent_experts=await _silent_experts(session, hospitals, filters.expert_id, now - limit),
    )


async def _silent_experts(session: AsyncSession, hospitals: set[uuid.UUID], expert_id: uuid.UUID | None,
                          since: datetime) -> list[SilentExpert]:
    """Experts on an active deployment at these hospitals whose phones have not synced since `since`."""
    if not hospitals:
        return []
    last_sync = (select(func.max(Device.last_sync_at)).where(Device.user_id == Deployment.expert_id)
                 .correlate(Deployment).scalar_subquery())
    query = (
        select(Deployment.expert_id, User.name, Deployment.recipient_id, last_sync)
        .join(User, User.id == Deployment.expert_id)
        .where(Deployment.recipient_id.in_(hospitals), Deployment.status == "active",
               (last_sync.is_(None)) | (last_sync < since))
        .order_by(User.name, Deployment.expert_id)
        .distinct()
    )
    if expert_id is not None:
        query = query.where(Deployment.expert_id == expert_id)
    return [SilentExpert(expert_id=r[0], expert_name=r[1], institution_id=r[2], last_sync_at=r[3])
            for r in await session.execute(query)]
