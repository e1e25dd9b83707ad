"""The appraisal on a real database: three signatures in order, each audited and locked, scope, the query for D."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.appraisal import service
from backend.appraisal.queries import appraisals_for_expert
from backend.appraisal.schemas import CountersignIn, RatingIn, SelfAssessment
from backend.errors import Conflict, InvalidInput, Locked, NotFound
from backend.models import AuditEvent, Deployment
from tests.factories import World, make_deployment
from tests.integration.test_reports import as_principal
from tests.stats_helpers import add_entry

TODAY = date(2025, 7, 10)
START = date(2025, 1, 1)


async def _ended_stay(session: AsyncSession, world: World) -> Deployment:
    dep = await make_deployment(session, world.expert_a, world.hospital_a, starts_on=START,
                                actual_end=date(2025, 6, 30), status="ended", post="department_head")
    await add_entry(session, dep, date(2025, 2, 3), "attendance", {"status": "present"})
    await add_entry(session, dep, date(2025, 2, 4), "attendance", {"status": "present"})
    await add_entry(session, dep, date(2025, 2, 4), "clinic", {"patients_first_visit": 9})
    await add_entry(session, dep, date(2025, 6, 1), "clinic", {"patients_first_visit": 40}, status="submitted")
    await session.commit()
    return dep


async def test_three_signatures_each_audited_then_locked(session: AsyncSession, world: World) -> None:
    dep = await _ended_stay(session, world)
    expert = as_principal(world.expert_a)
    sup = as_principal(world.supervisor_a, ("supervisor", world.hospital_a.id))
    hr = as_principal(world.hr, ("hr", world.home.id))
    [period] = await service.list_appraisals(session, expert, dep.id, TODAY)
    assert (period.period_start, period.period_end, period.state, period.final) == (
        START, date(2025, 6, 30), None, True)

    mine = await service.self_assess(session, expert, dep.id, SelfAssessment(
        period_start=START, self_assessment="完成科室带教与门诊任务。"), TODAY)
    assert mine.state == "self_assessed"
    with pytest.raises(Locked):  # signed: the expert cannot rewrite it
        await service.self_assess(session, expert, dep.id, SelfAssessment(
            period_start=START, self_assessment="改写"), TODAY)
    with pytest.raises(Conflict):  # HR cannot countersign before the rating
        await service.countersign(session, hr, dep.id, START, CountersignIn(), TODAY)
    with pytest.raises(InvalidInput) as bad:
        await service.rate(session, sup, dep.id, START, RatingIn(rating="great", comment="好"),
                           TODAY)
    assert bad.value.errors[0].field == "rating"

    rated = await service.rate(session, sup, dep.id, START,
                               RatingIn(rating="excellent", comment="出勤良好,门诊量达标。"), TODAY)
    # The figures the rating stands against, by hand: 181 days (Jan-Jun 2025), 3 approved entries,
    # 2 days present, 9 patients; the submitted clinic of 40 is pending, not counted.
    f = rated.figures
    assert (rated.state, rated.rating_label, rated.rated_by, rated.figures_frozen) == (
        "rated", "优秀", world.supervisor_a.name, True)
    assert (f.days_in_period, f.approved.entries, f.approved.on_site_days, f.approved.patients,
            f.pending_entries) == (181, 3, 2, 9, 1)
    with pytest.raises(Locked):
        await service.rate(session, sup, dep.id, START, RatingIn(rating="qualified", comment="改"),
                           TODAY)
    # Later approvals do not move the frozen figures.
    await add_entry(session, dep, date(2025, 3, 1), "clinic", {"patients_first_visit": 100})
    signed = await service.countersign(session, hr, dep.id, START,
                                       CountersignIn(comment="同意"), TODAY)
    assert (signed.state, signed.countersigned_by, signed.figures.approved.patients) == (
        "countersigned", world.hr.name, 9)
    with pytest.raises(Locked):
        await service.countersign(session, hr, dep.id, START, CountersignIn(), TODAY)
    await session.commit()
    actions = (await session.execute(select(AuditEvent.action, AuditEvent.actor_role)
                                     .where(AuditEvent.object_type == "appraisal").order_by(AuditEvent.seq))).all()
    assert [tuple(a) for a in actions] == [("appraisal.self_assess", "expert"), ("appraisal.rate", "supervisor"),
                                           ("appraisal.countersign", "hr")]
    [line] = await appraisals_for_expert(session, world.expert_a.id, date(2025, 1, 1), date(2025, 12, 31))
    assert (line.rating_label, line.rated_by, line.countersigned_by, line.post_label) == (
        "优秀", world.supervisor_a.name, world.hr.name, "科主任")
    assert await appraisals_for_expert(session, world.expert_a.id, date(2026, 1, 1), date(2026, 12, 31)) == []


async def test_each_step_belongs_to_one_person(session: AsyncSession, world: World) -> None:
    dep = await _ended_stay(session, world)
    intruders = [as_principal(world.expert_b), as_principal(world.supervisor_b, ("supervisor", world.hospital_b.id)),
                 as_principal(world.other_hr, ("hr", world.other_home.id))]
    for caller in intruders:
        with pytest.raises(NotFound):
            await service.list_appraisals(session, caller, dep.id, TODAY)
    with pytest.raises(NotFound):  # a colleague at the same hospital is not the author
        await service.self_assess(session, as_principal(world.expert_a2), dep.id,
                                  SelfAssessment(period_start=START, self_assessment="x"), TODAY)
    await service.self_assess(session, as_principal(world.expert_a), dep.id,
                              SelfAssessment(period_start=START, self_assessment="自评"), TODAY)
    with pytest.raises(NotFound):  # HR of the home hospital does not rate, a supervisor elsewhere neither
        await service.rate(session, as_principal(world.hr, ("hr", world.home.id)), dep.id, START,
                           RatingIn(rating="qualified", comment="x"), TODAY)
    with pytest.raises(NotFound):
        await service.rate(session, intruders[1], dep.id, START,
                           RatingIn(rating="qualified", comment="x"), TODAY)


async def test_a_running_stay_opens_its_appraisal_near_the_end(session: AsyncSession, world: World) -> None:
    dep = await make_deployment(session, world.expert_a, world.hospital_a, starts_on=START,
                                planned_end=date(2026, 12, 31))
    await session.commit()
    expert = as_principal(world.expert_a)
    periods = await service.list_appraisals(session, expert, dep.id, TODAY)
    assert [(p.period_start, p.period_end, p.opens_on) for p in periods] == [
        (START, date(2025, 12, 31), date(2025, 12, 1)), (date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 1))]
    with pytest.raises(InvalidInput) as exc:
        await service.self_assess(session, expert, dep.id,
                                  SelfAssessment(period_start=START, self_assessment="早"), TODAY)
    assert exc.value.extra["reason"] == "not_open_yet"
    done = await service.self_assess(session, expert, dep.id,
                                     SelfAssessment(period_start=START, self_assessment="第一年"), date(2025, 12, 5))
    assert done.state == "self_assessed"
