"""Closing a hospital's month (admin): every entry dated in it is locked with the reason `month_closed`."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend import feed
from backend.audit import writer as audit
from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, InvalidInput, NotFound
from backend.models import Entry, Institution, MonthClosure
from backend.review.schemas import MonthClosureOut, MonthRequest
from backend.worklog.states import EntryStatus


def parse_month(raw: str) -> date:
    """`YYYY-MM` to the first day of that month."""
    try:
        year, month = (int(part) for part in raw.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise InvalidInput(errors=[FieldError(field="month", code="invalid", message="Write the month as YYYY-MM")])\
            from None


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


async def _month_entries(session: AsyncSession, institution_id: uuid.UUID, first: date) -> list[tuple[uuid.UUID,
                                                                                                      uuid.UUID, str]]:
    rows = await session.execute(select(Entry.expert_id, Entry.id, Entry.status).where(
        Entry.institution_id == institution_id, Entry.work_date.between(first, month_end(first)),
        Entry.deleted_at.is_(None)))
    return [(r[0], r[1], r[2]) for r in rows]


async def _answer(session: AsyncSession, data: MonthRequest, first: date, closure: MonthClosure | None,
                  entries: list[tuple[uuid.UUID, uuid.UUID, str]]) -> MonthClosureOut:
    # Every entry of the month changes lock state, so each expert's phone must pull it again.
    await feed.touch_many(session, [(expert, entry) for expert, entry, _ in entries], "entry")
    return MonthClosureOut(
        institution_id=data.institution_id, month=first.strftime("%Y-%m"), closed=closure is not None,
        closed_by=closure.closed_by if closure else None, closed_at=closure.closed_at if closure else None,
        reason=data.reason, entries=len(entries),
        pending_entries=sum(status == EntryStatus.submitted.value for _, _, status in entries),
    )


async def close_month(session: AsyncSession, principal: Principal, data: MonthRequest) -> MonthClosureOut:
    """Close a month for a hospital; entries still under review stay so (reported as `pending_entries`)."""
    first = parse_month(data.month)
    institution = await session.get(Institution, data.institution_id)
    if institution is None:
        raise NotFound("No such institution")
    closure = await _insert_closure(session, principal, institution.id, first, data.reason)
    entries = await _month_entries(session, institution.id, first)
    await audit.record(session, principal, "month.close", "month", f"{institution.id}:{first:%Y-%m}",
                       after={"institution_id": institution.id, "month": first, "reason": data.reason},
                       institution_id=institution.id, role="admin",
                       detail={"month": f"{first:%Y-%m}", "reason": data.reason, "entries": len(entries)})
    return await _answer(session, data, first, closure, entries)


async def _insert_closure(session: AsyncSession, principal: Principal, institution_id: uuid.UUID, first: date,
                          reason: str | None) -> MonthClosure:
    closure = (await session.execute(
        pg_insert(MonthClosure).values(institution_id=institution_id, month=first, closed_by=principal.user_id,
                                       reason=reason)
        .on_conflict_do_nothing().returning(MonthClosure)
    )).scalar_one_or_none()
    if closure is None:
        raise Conflict(f"{first:%Y-%m} is already closed for this hospital", extra={"reason": "already_closed"})
    return closure


async def reopen_month(session: AsyncSession, principal: Principal, data: MonthRequest) -> MonthClosureOut:
    """Reopen a closed month (a reason is required: reopening changes locked evidence)."""
    first = parse_month(data.month)
    if not (data.reason and data.reason.strip()):
        raise InvalidInput(errors=[FieldError(field="reason", code="required", message="Say why the month reopens.")])
    removed = (await session.execute(
        delete(MonthClosure).where(MonthClosure.institution_id == data.institution_id, MonthClosure.month == first)
        .returning(MonthClosure.closed_by, MonthClosure.closed_at, MonthClosure.reason)
    )).one_or_none()
    if removed is None:
        raise NotFound(f"{first:%Y-%m} is not closed for this hospital")
    entries = await _month_entries(session, data.institution_id, first)
    await audit.record(session, principal, "month.reopen", "month", f"{data.institution_id}:{first:%Y-%m}",
                       before={"institution_id": data.institution_id, "month": first, "reason": removed[2],
                               "closed_by": removed[0], "closed_at": removed[1]},
                       institution_id=data.institution_id, role="admin",
                       detail={"month": f"{first:%Y-%m}", "reason": data.reason, "entries": len(entries)})
    return await _answer(session, data, first, None, entries)


async def closed_months(session: AsyncSession, institution_id: uuid.UUID) -> list[date]:
    return list((await session.execute(select(MonthClosure.month).where(MonthClosure.institution_id == institution_id)
                                       .order_by(MonthClosure.month))).scalars())

