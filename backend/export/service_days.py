"""Service days toward the one-year promotion rule, as the evidence document states them."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents.queries import _is, counted
from backend.export.evidence import ServiceLine
from backend.models import Deployment, Entry
from backend.service_time import ServiceRules, Stay, service_days

# When overlapping stays both have attendance on a day, the strongest status stands (as in backend.stats).
_MARK_ORDER = {"present": 0, "travel": 1, "leave": 2, "off": 3}


async def service(
    session: AsyncSession, expert_id: uuid.UUID, as_of: date, rules: ServiceRules
) -> ServiceLine:
    """Service days toward the one-year rule up to `as_of`, over all the expert's stays (not only the
    period: the rule is cumulative), from the counted attendance entries, as docs/statistics.md §3 counts."""
    deps = (
        await session.execute(
            select(Deployment.id, Deployment.starts_on, Deployment.actual_end, Deployment.planned_end).where(
                Deployment.expert_id == expert_id, Deployment.status != "cancelled"
            )
        )
    ).all()
    stays = [
        Stay(deployment_id=d.id, start=d.starts_on, end=d.actual_end, planned_end=d.planned_end) for d in deps
    ]
    marks: dict[date, str] = {}
    if stays:
        status = Entry.fields["status"].astext
        stmt = (
            select(Entry.work_date, status)
            .join(Deployment, Deployment.id == Entry.deployment_id)
            .where(counted(expert_id, min(s.start for s in stays), as_of), _is("attendance"))
        )
        for day, mark in (await session.execute(stmt)).all():
            if mark in _MARK_ORDER and (day not in marks or _MARK_ORDER[mark] < _MARK_ORDER[marks[day]]):
                marks[day] = mark
    result = service_days(stays, marks, rules, as_of=as_of)
    return ServiceLine(
        as_of=as_of,
        counted_days=result.counted_days,
        required_days=result.required_days,
        remaining_days=result.remaining_days,
        met_on=result.met_on,
        rules=rules,
    )
