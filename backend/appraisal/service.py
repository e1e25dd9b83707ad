"""Use cases of the appraisal: read a stay's periods, self-assess, rate, countersign; each step audited.

Who reaches a stay: its expert, the supervisors of its recipient, HR of the expert's home hospital, admins
(read only). Each writing step belongs to one of them and anyone else gets 404, as if the stay were not
there. The rating freezes the period's figures into the appraisal: what the supervisor rated against is
what HR countersigns and what documents later show.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import vocab
from backend.appraisal import states
from backend.appraisal.schemas import AppraisalOut, CountersignIn, PeriodFigures, RatingIn, SelfAssessment
from backend.appraisal.states import AppraisalAction, AppraisalState, Period
from backend.audit import writer as audit
from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.models import Appraisal, Deployment, Entry, Institution, User
from backend.reports.figures import figures_of


class Stay(msgspec.Struct, kw_only=True, frozen=True):
    deployment: Any
    expert_name: str
    home_id: uuid.UUID | None
    recipient: str


async def _stay(session: AsyncSession, principal: Principal, deployment_id: uuid.UUID, *,
                as_role: str | None = None) -> Stay:
    """The stay, if the caller reaches it (in the role `as_role` when given); 404 otherwise."""
    row = (await session.execute(
        select(Deployment, User.name, User.home_institution_id, Institution.name)
        .join(User, User.id == Deployment.expert_id).join(Institution, Institution.id == Deployment.recipient_id)
        .where(Deployment.id == deployment_id, Deployment.status != "cancelled")
    )).one_or_none()
    if row is None:
        raise NotFound("No such deployment")
    dep, name, home, recipient = row
    reach = {
        "expert": principal.is_expert and dep.expert_id == principal.user_id,
        # Nobody rates or countersigns their own stay, whatever else they are.
        "supervisor": dep.recipient_id in principal.supervised and dep.expert_id != principal.user_id,
        "hr": home is not None and home in principal.hr_of and dep.expert_id != principal.user_id,
        "admin": principal.is_admin,
    }
    if not (reach[as_role] if as_role else any(reach.values())):
        raise NotFound("No such deployment")
    return Stay(deployment=dep, expert_name=name, home_id=home, recipient=recipient)


def stay_periods(dep: Any, today: date) -> list[Period]:
    ended = dep.actual_end is not None or dep.status == "ended"
    end = dep.actual_end or dep.planned_end or max(today, dep.starts_on)
    return states.periods(dep.starts_on, end, ended=ended)


async def period_figures(session: AsyncSession, dep: Any, period: Period, today: date) -> PeriodFigures:
    """The stay's counted entries in the period (approved, not superseded, not deleted), pending apart."""
    rows = (await session.execute(
        select(Entry.activity_type, Entry.fields, Entry.duration_minutes, Entry.status)
        .where(Entry.deployment_id == dep.id, Entry.deleted_at.is_(None), Entry.superseded_by.is_(None),
               Entry.status.in_(("approved", "submitted")), Entry.work_date.between(period.start, period.end))
    )).all()
    last = min(period.end, today)
    return PeriodFigures(
        days_in_period=max((last - period.start).days + 1, 0),
        approved=figures_of((r.activity_type, r.fields or {}, r.duration_minutes) for r in rows
                            if r.status == "approved"),
        pending_entries=sum(r.status == "submitted" for r in rows),
    )


async def _view(session: AsyncSession, stay: Stay, period: Period, row: Appraisal | None,
                today: date) -> AppraisalOut:
    dep = stay.deployment
    ids = [i for i in (row.rated_by, row.countersigned_by) if i] if row else []
    names = dict((await session.execute(select(User.id, User.name).where(User.id.in_(ids)))).all()) if ids else {}
    frozen = row is not None and row.figures is not None
    figures = (msgspec.convert(row.figures, PeriodFigures) if frozen and row is not None
               else await period_figures(session, dep, period, today))
    out = AppraisalOut(
        deployment_id=dep.id, expert_id=dep.expert_id, expert_name=stay.expert_name, recipient=stay.recipient,
        department=dep.department, post_label=vocab.POSTS.get(dep.post, dep.post), period_start=period.start,
        period_end=period.end, opens_on=period.opens_on, final=period.final, state=row.state if row else None,
        figures_frozen=frozen, figures=figures)
    if row is not None:
        out.self_assessment, out.self_signed_at = row.self_assessment, row.self_signed_at
        out.rating, out.rating_label = row.rating, states.RATINGS.get(row.rating or "")
        out.rating_comment, out.rated_at, out.rated_by = row.rating_comment, row.rated_at, names.get(row.rated_by)
        out.countersign_comment, out.countersigned_at = row.countersign_comment, row.countersigned_at
        out.countersigned_by = names.get(row.countersigned_by)
    return out


async def _row(session: AsyncSession, deployment_id: uuid.UUID, start: date) -> Appraisal | None:
    return (await session.execute(
        select(Appraisal).where(Appraisal.deployment_id == deployment_id, Appraisal.period_start == start)
        .with_for_update())).scalar_one_or_none()


def _state(row: Appraisal) -> dict[str, Any]:
    return {"id": str(row.id), "deployment_id": str(row.deployment_id), "period_start": row.period_start.isoformat(),
            "state": row.state, "self_assessment": row.self_assessment, "rating": row.rating,
            "rating_comment": row.rating_comment, "countersign_comment": row.countersign_comment,
            "figures": row.figures}


async def list_appraisals(session: AsyncSession, principal: Principal, deployment_id: uuid.UUID,
                          today: date) -> list[AppraisalOut]:
    """Every period of the stay with its appraisal so far."""
    stay = await _stay(session, principal, deployment_id)
    rows = {r.period_start: r for r in (await session.execute(
        select(Appraisal).where(Appraisal.deployment_id == deployment_id))).scalars()}
    return [await _view(session, stay, p, rows.get(p.start), today) for p in stay_periods(stay.deployment, today)]


async def self_assess(session: AsyncSession, principal: Principal, deployment_id: uuid.UUID, data: SelfAssessment,
                      today: date) -> AppraisalOut:
    """The expert signs the self-assessment of an open period of their own stay."""
    stay = await _stay(session, principal, deployment_id, as_role="expert")
    period = states.find_period(stay_periods(stay.deployment, today), data.period_start)
    states.check_open(period, today)
    text = states.check_text(data.self_assessment, "self_assessment", required=True)
    row = await _row(session, deployment_id, period.start)
    states.next_state(AppraisalState(row.state) if row else None, AppraisalAction.self_assess)
    row = Appraisal(id=uuid.uuid4(), deployment_id=deployment_id, period_start=period.start, period_end=period.end,
                    state=AppraisalState.self_assessed.value, self_assessment=text or "",
                    self_signed_at=datetime.now(UTC))
    session.add(row)
    await session.flush()
    await audit.record(session, principal, "appraisal.self_assess", "appraisal", row.id, after=_state(row),
                       institution_id=stay.deployment.recipient_id, role="expert",
                       detail={"deployment_id": str(deployment_id), "period_start": period.start.isoformat()})
    return await _view(session, stay, period, row, today)


async def _signed_step(session: AsyncSession, principal: Principal, deployment_id: uuid.UUID, start: date,
                       role: str, action: AppraisalAction, today: date) -> tuple[Stay, Period, Appraisal]:
    stay = await _stay(session, principal, deployment_id, as_role=role)
    period = next((p for p in stay_periods(stay.deployment, today) if p.start == start), None)
    row = await _row(session, deployment_id, start)
    if period is None:
        raise NotFound("No such appraisal period")
    states.next_state(AppraisalState(row.state) if row else None, action)
    assert row is not None  # next_state refuses every action but self_assess on a missing appraisal
    return stay, period, row


async def rate(session: AsyncSession, principal: Principal, deployment_id: uuid.UUID, start: date, data: RatingIn,
               today: date) -> AppraisalOut:
    """A supervisor of the recipient rates the period (优秀 / 合格 / 不合格) against its figures, freezing them."""
    stay, period, row = await _signed_step(session, principal, deployment_id, start, "supervisor", AppraisalAction.rate,
                                           today)
    rating = states.check_rating(data.rating)
    comment = states.check_text(data.comment, "comment", required=True)
    before = _state(row)
    row.state, row.rating, row.rating_comment = AppraisalState.rated.value, rating, comment
    row.figures = msgspec.to_builtins(await period_figures(session, stay.deployment, period, today))
    row.rated_by, row.rated_at = principal.user_id, datetime.now(UTC)
    await session.flush()
    await audit.record(session, principal, "appraisal.rate", "appraisal", row.id, before=before, after=_state(row),
                       institution_id=stay.deployment.recipient_id, role="supervisor",
                       detail={"rating": rating, "period_start": start.isoformat()})
    return await _view(session, stay, period, row, today)


async def countersign(session: AsyncSession, principal: Principal, deployment_id: uuid.UUID, start: date,
                      data: CountersignIn, today: date) -> AppraisalOut:
    """HR of the expert's home hospital countersigns a rated appraisal; it is locked from then on."""
    stay, period, row = await _signed_step(session, principal, deployment_id, start, "hr",
                                           AppraisalAction.countersign, today)
    before = _state(row)
    row.state = AppraisalState.countersigned.value
    row.countersign_comment = states.check_text(data.comment, "comment", required=False)
    row.countersigned_by, row.countersigned_at = principal.user_id, datetime.now(UTC)
    await session.flush()
    await audit.record(session, principal, "appraisal.countersign", "appraisal", row.id, before=before,
                       after=_state(row), institution_id=stay.home_id, role="hr",
                       detail={"rating": row.rating, "period_start": start.isoformat()})
    return await _view(session, stay, period, row, today)


async def get_appraisal(session: AsyncSession, principal: Principal, deployment_id: uuid.UUID, start: date,
                        today: date) -> AppraisalOut:
    """One written appraisal of a stay in the caller's reach (404 when the period has none yet)."""
    stay = await _stay(session, principal, deployment_id)
    period = next((p for p in stay_periods(stay.deployment, today) if p.start == start), None)
    row = (await session.execute(select(Appraisal).where(
        Appraisal.deployment_id == deployment_id, Appraisal.period_start == start))).scalar_one_or_none()
    if period is None or row is None:
        raise NotFound("No appraisal written for this period")
    return await _view(session, stay, period, row, today)
