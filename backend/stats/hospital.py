"""Per-year figures of a recipient hospital, an agreement, or a supporting hospital (docs/statistics.md §4, §5).

Stays come from the deployments (a few dozen rows), workload from the roll-ups by (institution, month);
neither read grows with the number of entries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, false, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import FieldError, InvalidInput, NotFound
from backend.models import Agreement, AgreementTarget, Deployment, Institution, User
from backend.service_time import merge_spans
from backend.stats.coverage import (
    DEFAULT_MIN_CONTINUOUS_MONTHS,
    TARGETS,
    Coverage,
    StayAt,
    TargetRow,
    achieved_from,
    coverage,
    default_targets,
    effective_end,
    targets_table,
)
from backend.stats.figures import Figures, Pending, figures_from


class RecipientYear(msgspec.Struct, kw_only=True):
    """A recipient's (or an agreement's) year: stationing, workload, trainees, targets."""

    coverage: Coverage
    trainees: int
    new_techniques: int
    totals: Figures
    pending: Pending
    targets: list[TargetRow]


class Breakdown(msgspec.Struct, kw_only=True, frozen=True):
    """People dispatched and person-days in one row of a supporting hospital's breakdown."""

    key: str
    name: str
    people: int
    person_days: int
    on_site_days: int


class SupportingYear(msgspec.Struct, kw_only=True, frozen=True):
    """A supporting hospital's year: who it dispatched and for how long, by recipient and by department."""

    people_dispatched: int
    person_days: int
    on_site_days: int
    by_recipient: list[Breakdown]
    by_department: list[Breakdown]


class InstitutionStats(msgspec.Struct, kw_only=True):
    """One institution's year; `recipient` or `supporting` is filled according to its kind."""

    institution_id: uuid.UUID
    name: str
    kind: str
    year: int
    as_of: date
    recipient: RecipientYear | None = None
    supporting: SupportingYear | None = None


class AgreementStats(msgspec.Struct, kw_only=True):
    """One agreement's year, counting the deployments made under it."""

    agreement_id: uuid.UUID
    name: str
    supporting_id: uuid.UUID
    recipient_id: uuid.UUID
    year: int
    as_of: date
    recipient: RecipientYear


def institution_scope(principal: Principal) -> ColumnElement[bool]:
    """Institutions whose figures the caller may read: supervised ones, HR's home hospital, or all (admin)."""
    if principal.is_admin:
        return true()
    reach = principal.supervised | principal.hr_of
    return Institution.id.in_(reach) if reach else false()


def agreement_scope(principal: Principal) -> ColumnElement[bool]:
    """Agreements whose recipient the caller supervises or whose supporting hospital is HR's, or all (admin)."""
    if principal.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.supervised:
        clauses.append(Agreement.recipient_id.in_(principal.supervised))
    if principal.hr_of:
        clauses.append(Agreement.supporting_id.in_(principal.hr_of))
    return or_(*clauses) if clauses else false()


def check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise InvalidInput(errors=[FieldError(field="year", code="out_of_range", message="A year from 2000 to 2100.")])


def strictest(rows: Sequence[dict[str, int | bool]]) -> dict[str, int | bool]:
    """One target set from several agreements with the same recipient: the highest of each."""
    out: dict[str, int | bool] = {}
    for row in rows:
        for key, value in row.items():
            out[key] = (bool(out.get(key)) or bool(value)) if isinstance(value, bool) else max(int(out.get(key, 0)), value)
    return out


async def institution_stats(session: AsyncSession, principal: Principal, institution_id: uuid.UUID, *, year: int,
                            today: date) -> InstitutionStats:
    """The year of an institution in the caller's scope (404 otherwise)."""
    check_year(year)
    inst = (await session.execute(select(Institution).where(Institution.id == institution_id,
                                                             institution_scope(principal)))).scalar()
    if inst is None:
        raise NotFound("No such institution.")
    out = InstitutionStats(institution_id=inst.id, name=inst.name, kind=inst.kind, year=year, as_of=today)
    if inst.kind == "supporting_hospital":
        out.supporting = await _supporting_year(session, inst.id, year, today)
        return out
    target_rows = (await session.execute(
        select(AgreementTarget).join(Agreement, Agreement.id == AgreementTarget.agreement_id)
        .where(Agreement.recipient_id == inst.id, AgreementTarget.year == year)
    )).scalars().all()
    targets = strictest([_target_dict(t) for t in target_rows]) if target_rows else default_targets(tcm=inst.is_tcm)
    out.recipient = await _recipient_year(session, inst.id, Deployment.recipient_id == inst.id, year, today, targets)
    return out


async def agreement_stats(session: AsyncSession, principal: Principal, agreement_id: uuid.UUID, *, year: int,
                          today: date) -> AgreementStats:
    """The year of an agreement in the caller's scope (404 otherwise)."""
    check_year(year)
    agr = (await session.execute(select(Agreement).where(Agreement.id == agreement_id,
                                                         agreement_scope(principal)))).scalar()
    if agr is None:
        raise NotFound("No such agreement.")
    row = (await session.execute(select(AgreementTarget).where(AgreementTarget.agreement_id == agr.id,
                                                               AgreementTarget.year == year))).scalar()
    if row is not None:
        targets = _target_dict(row)
    else:
        tcm = (await session.execute(select(Institution.is_tcm).where(Institution.id == agr.recipient_id))).scalar()
        targets = default_targets(tcm=bool(tcm))
    recipient = await _recipient_year(session, agr.recipient_id, Deployment.agreement_id == agr.id, year, today,
                                      targets)
    return AgreementStats(agreement_id=agr.id, name=agr.name, supporting_id=agr.supporting_id,
                          recipient_id=agr.recipient_id, year=year, as_of=today, recipient=recipient)


def _target_dict(row: AgreementTarget) -> dict[str, int | bool]:
    return {key: getattr(row, key) for key, _, _ in TARGETS}


_YEAR_METRICS = text(
    "SELECT metric, sum(value) FROM stat_rollups WHERE institution_id = :inst AND month BETWEEN :m0 AND :m1 "
    "AND deployment_id = ANY(:deps) GROUP BY metric"
)
_YEAR_TRAINEES = text(
    "SELECT count(DISTINCT trainee_id) FROM stat_trainees WHERE institution_id = :inst "
    "AND month BETWEEN :m0 AND :m1 AND deployment_id = ANY(:deps)"
)
_YEAR_PENDING = text(
    "SELECT activity_type, count(*) FROM entries WHERE institution_id = :inst AND status = 'submitted' "
    "AND work_date BETWEEN :m0 AND :d1 AND deleted_at IS NULL AND deployment_id = ANY(:deps) GROUP BY activity_type"
)


async def _recipient_year(session: AsyncSession, recipient_id: uuid.UUID, which: ColumnElement[bool], year: int,
                          today: date, targets: dict[str, int | bool]) -> RecipientYear:
    deps = (await session.execute(
        select(Deployment.id, Deployment.expert_id, Deployment.starts_on, Deployment.planned_end,
               Deployment.actual_end, Deployment.post)
        .where(which, Deployment.recipient_id == recipient_id, Deployment.status != "cancelled")
    )).all()
    stays = [
        StayAt(expert_id=d.expert_id, deployment_id=d.id, post=d.post, start=d.starts_on,
               end=effective_end(d.actual_end, d.planned_end, today), ongoing=d.actual_end is None)
        for d in deps if d.starts_on <= effective_end(d.actual_end, d.planned_end, today)
    ]
    minimum = int(targets.get("min_continuous_months", DEFAULT_MIN_CONTINUOUS_MONTHS))
    cov = coverage(year, stays, as_of=today, min_continuous_months=minimum)
    params: dict[str, Any] = {"inst": recipient_id, "m0": date(year, 1, 1), "m1": date(year, 12, 1),
                              "d1": date(year, 12, 31), "deps": [d.id for d in deps]}
    metrics = (await session.execute(_YEAR_METRICS, params)).all()
    trainees = int((await session.execute(_YEAR_TRAINEES, params)).scalar() or 0)
    pending_rows = (await session.execute(_YEAR_PENDING, params)).all()
    totals = figures_from(((m, v) for m, v in metrics), trainees=trainees)
    achieved = achieved_from(cov, trainees=trainees, new_techniques=totals.new_techniques)
    return RecipientYear(
        coverage=cov, trainees=trainees, new_techniques=totals.new_techniques, totals=totals,
        pending=Pending(entries=sum(n for _, n in pending_rows), by_type=dict(sorted((t, n) for t, n in pending_rows))),
        targets=targets_table(targets, achieved),
    )


_ON_SITE_BY_DEPLOYMENT = text(
    "SELECT deployment_id, sum(value) FROM stat_rollups WHERE deployment_id = ANY(:deps) "
    "AND month BETWEEN :m0 AND :m1 AND metric = 'days:present' GROUP BY deployment_id"
)


async def _supporting_year(session: AsyncSession, supporting_id: uuid.UUID, year: int, today: date) -> SupportingYear:
    first, last = date(year, 1, 1), min(date(year, 12, 31), today)
    deps = (await session.execute(
        select(Deployment.id, Deployment.expert_id, Deployment.recipient_id, Institution.name, Deployment.department,
               Deployment.starts_on, Deployment.planned_end, Deployment.actual_end)
        .join(User, User.id == Deployment.expert_id).join(Institution, Institution.id == Deployment.recipient_id)
        .where(User.home_institution_id == supporting_id, Deployment.status != "cancelled",
               Deployment.starts_on <= last)
    )).all()
    # Each deployment clipped to the year (and to today in a running year); empty ones drop out.
    spans = {d.id: (max(d.starts_on, first), min(effective_end(d.actual_end, d.planned_end, today), last))
             for d in deps}
    in_year = [d for d in deps if spans[d.id][0] <= spans[d.id][1]]
    on_site: dict[uuid.UUID, int] = {}
    if in_year:
        rows = await session.execute(_ON_SITE_BY_DEPLOYMENT, {"deps": [d.id for d in in_year], "m0": first,
                                                              "m1": date(year, 12, 1)})
        on_site = {dep: int(v) for dep, v in rows}

    def rows_by(key_of: Any, name_of: Any) -> list[Breakdown]:
        groups: dict[str, list[Any]] = defaultdict(list)
        for d in in_year:
            groups[key_of(d)].append(d)
        return sorted((_breakdown(k, name_of(g[0]), g, spans, on_site) for k, g in groups.items()),
                      key=lambda b: (-b.person_days, b.key))

    total = _breakdown("", "", in_year, spans, on_site)
    return SupportingYear(
        people_dispatched=total.people, person_days=total.person_days, on_site_days=total.on_site_days,
        by_recipient=rows_by(lambda d: str(d.recipient_id), lambda d: d.name),
        by_department=rows_by(lambda d: d.department, lambda d: d.department),
    )


def _breakdown(key: str, name: str, deps: Sequence[Any], spans: dict[uuid.UUID, tuple[date, date]],
               on_site: dict[uuid.UUID, int]) -> Breakdown:
    per_expert: dict[uuid.UUID, list[tuple[date, date]]] = defaultdict(list)
    for d in deps:
        per_expert[d.expert_id].append(spans[d.id])
    # An expert's overlapping deployments count each day once (docs §5).
    person_days = sum((b - a).days + 1 for own in per_expert.values() for a, b in merge_spans(own))
    return Breakdown(key=key, name=name, people=len(per_expert), person_days=person_days,
                     on_site_days=sum(on_site.get(d.id, 0) for d in deps))
