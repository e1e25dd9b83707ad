"""What the rules need to know, read straight from the database for one institution (the read side)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.models import Deployment, Entry, MonthClosure, RoleGrant, User
from backend.notifications.rules.digests import HrExpert, MonthState, PendingByExpert, SupervisorDay
from backend.notifications.rules.experts import ExpertActivity, ReturnedWork
from backend.review.queue import QueueFilter, review_queue
from backend.service_time import Stay, service_days
from backend.settings import Settings

_LIVE = Entry.deleted_at.is_(None)
_MARK_ORDER = {"present": 0, "travel": 1, "leave": 2, "off": 3}


async def holders(session: AsyncSession, role: str, institution_id: uuid.UUID | None) -> list[uuid.UUID]:
    """Active users holding `role` (at the institution, for scoped roles)."""
    query = (select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id)
             .where(RoleGrant.role == role, User.is_active.is_(True)).order_by(RoleGrant.user_id))
    if institution_id is not None:
        query = query.where(RoleGrant.institution_id == institution_id)
    return list((await session.execute(query)).scalars().unique())


async def expert_activity(session: AsyncSession, institution_id: uuid.UUID, today: date) -> list[ExpertActivity]:
    """Experts on an active deployment here: their newest entry and their recent attendance days."""
    deps = (await session.execute(
        select(Deployment.expert_id, User.name, func.min(Deployment.starts_on))
        .join(User, User.id == Deployment.expert_id)
        .where(Deployment.recipient_id == institution_id, Deployment.status == "active",
               Deployment.starts_on <= today, User.is_active.is_(True))
        .group_by(Deployment.expert_id, User.name)
    )).all()
    if not deps:
        return []
    ids = [d[0] for d in deps]
    last = dict((await session.execute(
        select(Entry.expert_id, func.max(Entry.work_date)).where(Entry.expert_id.in_(ids), _LIVE)
        .group_by(Entry.expert_id))).all())
    attended: dict[uuid.UUID, set[date]] = defaultdict(set)
    for expert_id, day in await session.execute(
            select(Entry.expert_id, Entry.work_date).where(
                Entry.expert_id.in_(ids), _LIVE, Entry.activity_type == "attendance",
                Entry.work_date >= today - timedelta(days=7))):
        attended[expert_id].add(day)
    return [ExpertActivity(expert_id=e, name=name, deployment_start=start, last_entry=last.get(e),
                           attended=frozenset(attended[e])) for e, name, start in deps]


async def returned_work(session: AsyncSession, institution_id: uuid.UUID) -> list[ReturnedWork]:
    rows = await session.execute(
        select(Entry.expert_id, User.name, func.count(), func.min(func.coalesce(Entry.reviewed_at, Entry.updated_at)))
        .join(User, User.id == Entry.expert_id)
        .where(Entry.institution_id == institution_id, Entry.status == "returned", _LIVE,
               Entry.superseded_by.is_(None))
        .group_by(Entry.expert_id, User.name))
    return [ReturnedWork(expert_id=r[0], name=r[1], count=int(r[2]), oldest_returned_at=r[3]) for r in rows]


async def supervisor_days(session: AsyncSession, institution_id: uuid.UUID, settings: Settings,
                          now: datetime) -> list[SupervisorDay]:
    """The review queue as the hospital's supervisors see it (the same query as the console's), per supervisor.

    Waiting days and overdue flags are counted on the rule's clock; silent phones come from the queue as is.
    """
    supervisors = await holders(session, "supervisor", institution_id)
    if not supervisors:
        return []
    as_hospital = Principal(user_id=supervisors[0], username="notify", name="notify", device_id=None,
                            session_id=None, roles=frozenset({"supervisor"}), supervised=frozenset({institution_id}))
    queue = await review_queue(session, as_hospital, QueueFilter(institution_id=institution_id), settings)
    by_expert: dict[str, list[int]] = {}
    limit = timedelta(days=settings.review_overdue_days)
    for group in queue.groups:
        counts = by_expert.setdefault(group.expert_name, [0, 0, 0])
        for item in group.items:
            waited = now - item.submitted_at if item.submitted_at else timedelta(0)
            counts[0] += 1
            counts[1] = max(counts[1], waited.days)
            counts[2] += waited > limit
    pending = [PendingByExpert(name, c[0], c[1], c[2]) for name, c in by_expert.items()]
    silent = [s.expert_name for s in queue.silent_experts]
    return [SupervisorDay(supervisor_id=s, pending=pending, silent_phones=silent) for s in supervisors]


async def hr_experts(session: AsyncSession, institution_id: uuid.UUID, settings: Settings,
                     today: date) -> list[HrExpert]:
    """The home hospital's experts on active deployments: open work, planned end, service toward one year."""
    experts = (await session.execute(
        select(User.id, User.name, func.max(Deployment.planned_end))
        .join(Deployment, and_(Deployment.expert_id == User.id, Deployment.status == "active"))
        .where(User.home_institution_id == institution_id, User.is_active.is_(True))
        .group_by(User.id, User.name))).all()
    if not experts:
        return []
    ids = [e[0] for e in experts]
    counts: dict[tuple[uuid.UUID, str], int] = {
        (r[0], r[1]): int(r[2]) for r in await session.execute(
            select(Entry.expert_id, Entry.status, func.count()).where(
                Entry.expert_id.in_(ids), _LIVE, Entry.status.in_(("submitted", "returned")),
                Entry.superseded_by.is_(None)).group_by(Entry.expert_id, Entry.status))}
    stays: dict[uuid.UUID, list[Stay]] = defaultdict(list)
    for d in await session.execute(select(Deployment.expert_id, Deployment.id, Deployment.starts_on,
                                          Deployment.actual_end, Deployment.planned_end)
                                   .where(Deployment.expert_id.in_(ids), Deployment.status != "cancelled")):
        stays[d[0]].append(Stay(deployment_id=d[1], start=d[2], end=d[3], planned_end=d[4]))
    marks: dict[uuid.UUID, dict[date, str]] = defaultdict(dict)
    for expert_id, day, mark in await session.execute(
            select(Entry.expert_id, Entry.work_date, Entry.fields["status"].astext).where(
                Entry.expert_id.in_(ids), _LIVE, Entry.status == "approved", Entry.activity_type == "attendance")):
        seen = marks[expert_id].get(day)
        if mark in _MARK_ORDER and (seen is None or _MARK_ORDER[mark] < _MARK_ORDER[seen]):
            marks[expert_id][day] = mark
    return [HrExpert(name=name, pending=counts.get((e, "submitted"), 0), returned=counts.get((e, "returned"), 0),
                     planned_end=end,
                     service=service_days(stays[e], marks[e], settings.service_rules, as_of=today) if stays[e] else None)
            for e, name, end in experts]


async def month_states(session: AsyncSession, institution_id: uuid.UUID, institution_name: str,
                       today: date) -> list[MonthState]:
    """Past months with entries at the institution: how many, how many still pending, closed or not."""
    month = func.date_trunc("month", Entry.work_date)
    rows = (await session.execute(
        select(month, func.count(), func.count().filter(Entry.status == "submitted"))
        .where(Entry.institution_id == institution_id, _LIVE, Entry.work_date < today.replace(day=1))
        .group_by(month).order_by(month))).all()
    closed = set((await session.execute(
        select(MonthClosure.month).where(MonthClosure.institution_id == institution_id))).scalars())
    return [MonthState(institution_name=institution_name, month=m.date(), entries=int(n), pending=int(p),
                       closed=m.date() in closed) for m, n, p in rows]
