"""One expert's figures for a period, and cumulative service time (docs/statistics.md §2, §3).

Read from the roll-ups: a handful of primary-key range reads per request, whatever the number of entries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import msgspec
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import FieldError, InvalidInput, NotFound
from backend.models import Deployment, User
from backend.scope import expert_scope
from backend.service_time import MonthDays, ServiceRules, Stay, iter_days, merge_spans, service_days
from backend.stats.figures import Figures, Pending, figures_from
from backend.stats.metrics import month_of

# When overlapping deployments both have attendance on a day, the strongest status stands for the day.
_MARK_ORDER = {"present": 0, "travel": 1, "leave": 2, "off": 3}
MAX_PERIOD_MONTHS = 120


class MonthFigures(msgspec.Struct, kw_only=True):
    """The figures of one calendar month (`month` is YYYY-MM)."""

    month: str
    figures: Figures


class ServiceOut(msgspec.Struct, kw_only=True, frozen=True):
    """Cumulative grassroots service toward the one-year requirement, as of a day, under the rules shown."""

    as_of: date
    counted_days: int
    required_days: int
    remaining_days: int
    met: bool
    met_on: date | None
    projected_on: date | None
    pace_days: int
    pace_window_days: int
    by_month: list[MonthDays]
    rules: ServiceRules


class ExpertStats(msgspec.Struct, kw_only=True, rename={"from_": "from"}):
    """An expert's approved workload in whole months from `from` to `to`, pending apart, and service time."""

    expert_id: uuid.UUID
    name: str
    from_: date
    to: date
    as_of: date
    totals: Figures
    by_month: list[MonthFigures]
    pending: Pending
    service: ServiceOut


def month_period(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The whole months covering first..last (default: this calendar year so far); roll-ups are monthly."""
    first = month_of(first or date(today.year, 1, 1))
    last = last or today
    last = (month_of(last) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if last < first:
        raise InvalidInput(errors=[FieldError(field="to", code="before_from", message="`to` is before `from`.")])
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_PERIOD_MONTHS:
        message = f"A period spans at most {MAX_PERIOD_MONTHS} months."
        raise InvalidInput(errors=[FieldError(field="to", code="period_too_long", message=message)])
    return first, last


_METRICS_SQL = text(
    "SELECT month, metric, sum(value) FROM stat_rollups WHERE expert_id = :e AND month BETWEEN :m0 AND :m1 "
    "AND deployment_id = ANY(:deps) GROUP BY month, metric"
)
_TRAINEES_SQL = text(
    "SELECT DISTINCT month, trainee_id FROM stat_trainees WHERE expert_id = :e AND month BETWEEN :m0 AND :m1 "
    "AND deployment_id = ANY(:deps)"
)
_DAYS_SQL = text("SELECT work_date, status FROM stat_days WHERE expert_id = :e AND deployment_id = ANY(:deps)")
_PENDING_SQL = text(
    "SELECT activity_type, count(*) FROM entries WHERE expert_id = :e AND work_date BETWEEN :d0 AND :d1 "
    "AND status = 'submitted' AND deleted_at IS NULL GROUP BY activity_type"
)


async def expert_stats(
    session: AsyncSession, principal: Principal, expert_id: uuid.UUID, *, first: date | None, last: date | None,
    today: date, rules: ServiceRules,
) -> ExpertStats:
    """The expert's figures, if the caller may read them (otherwise 404, as if the expert did not exist)."""
    name = (await session.execute(select(User.name).where(User.id == expert_id, expert_scope(principal)))).scalar()
    if name is None:
        raise NotFound("No such expert.")
    first, last = month_period(first, last, today)
    deps = (await session.execute(
        select(Deployment.id, Deployment.starts_on, Deployment.actual_end, Deployment.planned_end)
        .where(Deployment.expert_id == expert_id, Deployment.status != "cancelled")
    )).all()
    ids = [d.id for d in deps]
    params = {"e": expert_id, "m0": first, "m1": last, "deps": ids}

    by_month: dict[date, list[tuple[str, Decimal]]] = defaultdict(list)
    for month, metric, value in await session.execute(_METRICS_SQL, params):
        by_month[month].append((metric, value))
    trainees_by_month: dict[date, set[uuid.UUID]] = defaultdict(set)
    for month, trainee in await session.execute(_TRAINEES_SQL, params):
        trainees_by_month[month].add(trainee)
    marks: dict[date, str] = {}
    for day, status in await session.execute(_DAYS_SQL, {"e": expert_id, "deps": ids}):
        if day not in marks or _MARK_ORDER[status] < _MARK_ORDER[marks[day]]:
            marks[day] = status
    pending_rows = (await session.execute(_PENDING_SQL, {"e": expert_id, "d0": first, "d1": last})).all()

    stays = [Stay(deployment_id=d.id, start=d.starts_on, end=d.actual_end, planned_end=d.planned_end) for d in deps]
    unrecorded = _unrecorded_by_month(stays, marks, first, min(last, today))
    months: list[MonthFigures] = []
    month = first
    while month <= last:
        fig = figures_from(by_month.get(month, []), trainees=len(trainees_by_month.get(month, ())))
        fig.unrecorded_days = unrecorded.get(month, 0)
        months.append(MonthFigures(month=month.strftime("%Y-%m"), figures=fig))
        month = (month + timedelta(days=32)).replace(day=1)
    totals = figures_from(
        (pair for pairs in by_month.values() for pair in pairs),
        trainees=len(set().union(*trainees_by_month.values())),
    )
    totals.unrecorded_days = sum(unrecorded.values())

    result = service_days(stays, marks, rules, as_of=today)
    service = ServiceOut(
        as_of=today, counted_days=result.counted_days, required_days=result.required_days,
        remaining_days=result.remaining_days, met=result.met_on is not None, met_on=result.met_on,
        projected_on=result.projected_on, pace_days=result.pace_days, pace_window_days=result.pace_window_days,
        by_month=result.by_month, rules=rules,
    )
    pending = Pending(entries=sum(n for _, n in pending_rows), by_type=dict(sorted((t, n) for t, n in pending_rows)))
    return ExpertStats(expert_id=expert_id, name=name, from_=first, to=last, as_of=today, totals=totals,
                       by_month=months, pending=pending, service=service)


def _unrecorded_by_month(stays: list[Stay], marks: dict[date, str], first: date, last: date) -> dict[date, int]:
    """Per month, days inside a stay within first..last with no approved attendance."""
    clipped = ((max(s.start, first), min(s.end or last, last)) for s in stays)
    out: dict[date, int] = defaultdict(int)
    for a, b in merge_spans(span for span in clipped if span[0] <= span[1]):
        for day in iter_days(a, b):
            if day not in marks:
                out[month_of(day)] += 1
    return out
