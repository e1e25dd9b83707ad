"""Read side of the annual programme report per agreement and year (年度帮扶工作报告), for admins and HR.

The stationing figures and targets are the statistics' own (backend.stats.hospital.agreement_stats), so
the report and the statistics screen never disagree; this module adds what a report filed with the
health commission needs: the teams month by month, the stays by name, the ratings of the appraisals,
and the list of what is missing to meet the targets.
"""

from __future__ import annotations

import uuid
from datetime import date

import msgspec
from sqlalchemy import ColumnElement, false, func, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend import vocab
from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.models import Agreement, AgreementTarget, Appraisal, Deployment, Institution, User
from backend.reports.programme import MissingItem, StayInfo, TeamMonth, missing_items, team_months
from backend.stats.coverage import TargetRow
from backend.stats.figures import Figures, Pending
from backend.stats.hospital import agreement_stats, check_year


class StayLine(msgspec.Struct, kw_only=True, frozen=True):
    """One stay counted in the year, with the length of the continuous stint it belongs to."""

    expert_id: uuid.UUID
    name: str
    post_label: str
    department: str
    starts_on: date
    ends_on: date
    ongoing: bool
    continuous_months: int
    reached: bool


class RatingCounts(msgspec.Struct, kw_only=True, frozen=True):
    """Appraisals of the agreement's stays whose period ends in the year; only countersigned ones are final."""

    excellent: int = 0
    qualified: int = 0
    unqualified: int = 0
    final: int = 0
    in_progress: int = 0


class AnnualReport(msgspec.Struct, kw_only=True):
    """Everything the annual report states."""

    agreement_id: uuid.UUID
    agreement_name: str
    programme: str
    supporting: str
    recipient: str
    recipient_is_tcm: bool
    year: int
    as_of: date
    complete: bool
    targets_set: bool
    targets_note: str | None
    targets: list[TargetRow]
    days_in_year: int
    covered_days: int
    uncovered_days: int
    longest_gap_days: int
    longest_gap_start: date | None
    longest_gap_end: date | None
    experts_stationed: int
    leaders_stationed: int
    person_days: int
    stays: list[StayLine]
    trainees: int
    new_techniques: int
    totals: Figures
    pending: Pending
    teams: list[TeamMonth]
    ratings: RatingCounts
    missing: list[MissingItem]


def report_scope(principal: Principal) -> ColumnElement[bool]:
    """Agreements whose report the caller may read: HR of the supporting hospital, or admins."""
    if principal.is_admin:
        return true()
    return Agreement.supporting_id.in_(principal.hr_of) if principal.hr_of else false()


_ON_SITE = text(
    "SELECT deployment_id, to_char(month, 'YYYY-MM'), sum(value) FROM stat_rollups WHERE deployment_id = ANY(:deps) "
    "AND metric = 'days:present' AND month BETWEEN :m0 AND :m1 GROUP BY 1, 2"
)


async def _ratings(session: AsyncSession, agreement_id: uuid.UUID, year: int) -> RatingCounts:
    rows = (await session.execute(
        select(Appraisal.state, Appraisal.rating, func.count())
        .join(Deployment, Deployment.id == Appraisal.deployment_id)
        .where(Deployment.agreement_id == agreement_id, Deployment.status != "cancelled",
               Appraisal.period_end.between(date(year, 1, 1), date(year, 12, 31)))
        .group_by(Appraisal.state, Appraisal.rating)
    )).all()
    final = {rating: n for state, rating, n in rows if state == "countersigned"}
    return RatingCounts(excellent=final.get("excellent", 0), qualified=final.get("qualified", 0),
                        unqualified=final.get("unqualified", 0), final=sum(final.values()),
                        in_progress=sum(n for state, _, n in rows if state != "countersigned"))


async def annual_report(session: AsyncSession, principal: Principal, agreement_id: uuid.UUID, *, year: int,
                        today: date) -> AnnualReport:
    """The report of an agreement in the caller's scope (404 otherwise) for a year up to today."""
    check_year(year)
    row = (await session.execute(
        select(Agreement, Institution.name, Institution.is_tcm)
        .join(Institution, Institution.id == Agreement.recipient_id)
        .where(Agreement.id == agreement_id, report_scope(principal))
    )).one_or_none()
    if row is None:
        raise NotFound("No such agreement")
    agr, recipient, tcm = row
    supporting = await session.scalar(select(Institution.name).where(Institution.id == agr.supporting_id))
    targets_set = await session.scalar(select(func.count()).select_from(AgreementTarget).where(
        AgreementTarget.agreement_id == agr.id, AgreementTarget.year == year)) != 0
    stats = await agreement_stats(session, principal, agr.id, year=year, today=today)
    ry = stats.recipient
    cov = ry.coverage
    deps = (await session.execute(
        select(Deployment.id, Deployment.expert_id, Deployment.department, User.name)
        .join(User, User.id == Deployment.expert_id)
        .where(Deployment.agreement_id == agr.id, Deployment.status != "cancelled")
    )).all()
    info: dict[uuid.UUID | None, StayInfo] = {d.id: StayInfo(name=d.name, department=d.department) for d in deps}
    names = {d.expert_id: d.name for d in deps}
    on_site: dict[tuple[uuid.UUID | None, str], int] = {}
    if deps:
        result = await session.execute(_ON_SITE, {"deps": [d.id for d in deps], "m0": date(year, 1, 1),
                                                  "m1": date(year, 12, 1)})
        on_site = {(dep, month): int(v) for dep, month, v in result}
    note = None if targets_set else (
        f"本协议未设定 {year} 年度目标，下表按《“十四五”时期三级医院对口帮扶县级医院工作方案》的最低要求对照"
        f"（派驻至少 {3 if tcm else 5} 人{'，中医医院' if tcm else ''}、其中院长或副院长 1 人、每人连续驻点不少于 6 个月、"
        "全年均有人驻点、每年培养骨干至少 3 名）。")
    return AnnualReport(
        agreement_id=agr.id, agreement_name=agr.name, programme=vocab.PROGRAMMES.get(agr.programme, agr.programme),
        supporting=supporting or "", recipient=recipient, recipient_is_tcm=bool(tcm), year=year, as_of=today,
        complete=cov.complete, targets_set=targets_set, targets_note=note, targets=ry.targets,
        days_in_year=cov.days_in_year, covered_days=cov.covered_days, uncovered_days=cov.uncovered_days,
        longest_gap_days=cov.longest_gap_days, longest_gap_start=cov.longest_gap_start,
        longest_gap_end=cov.longest_gap_end, experts_stationed=cov.experts_stationed,
        leaders_stationed=cov.leaders_stationed, person_days=cov.person_days,
        stays=[StayLine(expert_id=s.expert_id, name=info[s.deployment_id].name if s.deployment_id in info else "",
                        post_label=vocab.POSTS.get(s.post, s.post),
                        department=info[s.deployment_id].department if s.deployment_id in info else "",
                        starts_on=s.start, ends_on=s.end, ongoing=s.ongoing, continuous_months=s.continuous_months,
                        reached=s.reached) for s in cov.stays],
        trainees=ry.trainees, new_techniques=ry.new_techniques, totals=ry.totals, pending=ry.pending,
        teams=team_months(year, cov.stays, info, on_site, as_of=min(today, date(year, 12, 31))),
        ratings=await _ratings(session, agr.id, year),
        missing=missing_items(ry.targets, cov, names),
    )
