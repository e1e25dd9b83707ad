"""Roll-ups stay equal to a recomputation from the entries through approvals, revisions and unapprovals."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.models import StatRollup
from backend.models.stats import StatDay, StatTrainee
from backend.service_time import ServiceRules
from backend.stats import recompute
from backend.stats.expert import expert_stats
from tests.factories import World, make_deployment
from tests.stats_helpers import add_entry, approve, approve_revision, unapprove

DAY = date(2025, 3, 10)


def admin_of(world: World) -> Principal:
    return Principal(user_id=world.admin.id, username="admin", name="a", device_id=None, session_id=None,
                     roles=frozenset({"admin"}))


async def metrics(session: AsyncSession) -> dict[str, tuple[Decimal, int]]:
    rows = (await session.execute(select(StatRollup.metric, StatRollup.value, StatRollup.entries))).all()
    return {m: (v, n) for m, v, n in rows}


async def test_approved_entries_roll_up_and_match_the_recomputation(session: AsyncSession, world: World) -> None:
    dep = world.deployment_a
    await add_entry(session, dep, DAY, "clinic", {"session": "am", "patients_first_visit": 10, "patients_follow_up": 4})
    await add_entry(session, dep, DAY, "clinic", {"session": "pm", "patients_first_visit": 6})
    await add_entry(session, dep, DAY, "surgery", {"procedure_name": "LC", "grade": "grade_3", "role": "primary"},
                    duration=95)
    await add_entry(session, dep, DAY, "lecture", {"title": "t", "hours": 1.5, "audience_count": 30})
    await add_entry(session, dep, DAY, "attendance", {"status": "present"})
    await add_entry(session, dep, DAY, "clinic", {"session": "am", "patients_first_visit": 99}, status="submitted")
    await add_entry(session, dep, DAY, "clinic", {"session": "am", "patients_first_visit": 99}, status="returned")

    m = await metrics(session)
    assert m["count:clinic"] == (Decimal(2), 2)
    assert m["patients"] == (Decimal(20), 2)
    assert m["surgery:grade_3:primary"] == (Decimal(1), 1)
    assert m["minutes:surgery"] == (Decimal(95), 1)
    assert m["teaching_hours"] == (Decimal("1.50"), 1)
    assert m["attendees"] == (Decimal(30), 1)
    assert m["days:present"] == (Decimal(1), 1)
    assert (await recompute.check(session)).ok


async def test_unapproval_removes_the_figures_and_empty_rows(session: AsyncSession, world: World) -> None:
    surgery = await add_entry(session, world.deployment_a, DAY, "surgery",
                              {"procedure_name": "LC", "grade": "grade_2", "role": "first_assistant"})
    await unapprove(session, surgery)
    assert await metrics(session) == {}
    assert (await recompute.check(session)).ok
    await approve(session, surgery)
    assert (await metrics(session))["surgery:grade_2:first_assistant"] == (Decimal(1), 1)
    assert (await recompute.check(session)).ok


async def test_an_approved_revision_replaces_its_original(session: AsyncSession, world: World) -> None:
    dep = world.deployment_a
    original = await add_entry(session, dep, DAY, "surgery", {"procedure_name": "LC", "grade": "grade_2",
                                                               "role": "primary"})
    revision = await add_entry(session, dep, DAY + timedelta(days=30), "surgery",
                               {"procedure_name": "LC", "grade": "grade_4", "role": "primary"},
                               status="submitted", revision_of=original)
    # While the revision waits, the approved original still counts.
    assert "surgery:grade_2:primary" in await metrics(session)
    assert (await recompute.check(session)).ok
    await approve_revision(session, original, revision)
    m = await metrics(session)
    assert "surgery:grade_2:primary" not in m
    assert m["surgery:grade_4:primary"] == (Decimal(1), 1)
    months = (await session.execute(select(StatRollup.month).distinct())).scalars().all()
    assert months == [date(2025, 4, 1)]
    assert (await recompute.check(session)).ok


async def test_trainees_are_distinct_and_survive_one_of_two_unapprovals(session: AsyncSession, world: World) -> None:
    dep = world.deployment_a
    t1, t2 = str(uuid.uuid4()), str(uuid.uuid4())
    first = await add_entry(session, dep, DAY, "mentoring", {"trainee_id": t1})
    await add_entry(session, dep, DAY + timedelta(days=1), "mentoring", {"trainee_id": t1})
    await add_entry(session, dep, DAY + timedelta(days=2), "mentoring", {"trainee_id": t2})
    rows = (await session.execute(select(StatTrainee.trainee_id, StatTrainee.entries))).all()
    assert sorted((str(t), n) for t, n in rows) == sorted([(t1, 2), (t2, 1)])
    await unapprove(session, first)
    rows = (await session.execute(select(StatTrainee.trainee_id, StatTrainee.entries))).all()
    assert sorted((str(t), n) for t, n in rows) == sorted([(t1, 1), (t2, 1)])
    assert (await recompute.check(session)).ok


async def test_attendance_days_unapproved_leave_no_row(session: AsyncSession, world: World) -> None:
    day = await add_entry(session, world.deployment_a, DAY, "attendance", {"status": "travel"})
    assert (await session.execute(select(StatDay.status))).scalars().all() == ["travel"]
    await unapprove(session, day)
    assert (await session.execute(select(StatDay.status))).scalars().all() == []


async def test_check_reports_a_drifted_roll_up_and_rebuild_repairs_it(session: AsyncSession, world: World) -> None:
    await add_entry(session, world.deployment_a, DAY, "free_clinic", {"place": "村", "people_served": 50})
    await session.execute(text("UPDATE stat_rollups SET value = value + 1 WHERE metric = 'people_served'"))
    await session.execute(text("DELETE FROM stat_rollups WHERE metric = 'count:free_clinic'"))
    result = await recompute.check(session)
    assert result.differences == 2
    kinds = {(d.key["metric"], d.stored is None) for d in result.sample}
    assert kinds == {("people_served", False), ("count:free_clinic", True)}
    await recompute.rebuild(session)
    assert (await recompute.check(session)).ok


async def test_expert_figures_and_service_across_a_travel_day_and_a_stay_crossing_the_year(
    session: AsyncSession, world: World
) -> None:
    # A stay from 20 Dec 2024 to 10 Jan 2025: present every day except one travel day and one leave day.
    dep = await make_deployment(session, world.expert_b, world.hospital_b, starts_on=date(2024, 12, 20),
                                planned_end=date(2025, 1, 10), actual_end=date(2025, 1, 10), status="ended")
    day = date(2024, 12, 20)
    while day <= date(2025, 1, 10):
        status = {date(2024, 12, 31): "travel", date(2025, 1, 2): "leave"}.get(day, "present")
        await add_entry(session, dep, day, "attendance", {"status": status})
        day += timedelta(days=1)
    today = date(2025, 6, 1)

    rules = ServiceRules()
    stats = await expert_stats(session, admin_of(world), world.expert_b.id, first=date(2025, 1, 1),
                               last=date(2025, 1, 31), today=today, rules=rules)
    assert (stats.totals.on_site_days, stats.totals.leave_days, stats.totals.travel_days) == (9, 1, 0)
    assert stats.totals.unrecorded_days == 0
    # Service is cumulative over all time: 22 stay days, leave excluded, travel counted by default.
    assert stats.service.counted_days == 21
    no_travel = await expert_stats(session, admin_of(world), world.expert_b.id, first=None, last=None, today=today,
                                   rules=ServiceRules(count_travel_days=False))
    assert no_travel.service.counted_days == 20
    december = await expert_stats(session, admin_of(world), world.expert_b.id, first=date(2024, 12, 1),
                                  last=date(2024, 12, 31), today=today, rules=rules)
    assert (december.totals.on_site_days, december.totals.travel_days) == (11, 1)
    assert (await recompute.check(session)).ok
