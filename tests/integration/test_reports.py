"""The monthly summary and the annual programme report against figures computed by hand from known entries."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, Locked, NotFound
from backend.models import Appraisal, AuditEvent, User
from backend.reports import summaries
from backend.reports.annual import annual_report
from tests.factories import World, make_agreement, make_deployment, make_user
from tests.stats_helpers import add_entry


def as_principal(user: User, *grants: tuple[str, uuid.UUID | None]) -> Principal:
    grants = grants or (("expert", None),)
    return Principal(user_id=user.id, username=user.username, name=user.name, device_id=None, session_id=None,
                     roles=frozenset(r for r, _ in grants), home_institution_id=user.home_institution_id,
                     supervised=frozenset(i for r, i in grants if r == "supervisor" and i),
                     hr_of=frozenset(i for r, i in grants if r == "hr" and i))


APRIL = date(2025, 4, 1)  # "today" for the March 2025 summary: the month is over


async def _march(session: AsyncSession, world: World) -> Any:
    """expert_a's March 2025 at hospital A: approved, pending, unsent entries, plus noise that must not count."""
    dep = await make_deployment(session, world.expert_a, world.hospital_a, starts_on=date(2025, 1, 1),
                                planned_end=date(2025, 12, 31))
    t1, t2 = str(uuid.uuid4()), str(uuid.uuid4())
    approved: list[tuple[date, str, dict[str, Any]]] = [
        (date(2025, 3, 3), "attendance", {"status": "present"}),
        (date(2025, 3, 4), "attendance", {"status": "present"}),
        (date(2025, 3, 5), "attendance", {"status": "present"}),
        (date(2025, 3, 6), "attendance", {"status": "leave"}),
        (date(2025, 3, 3), "clinic", {"session": "am", "patients_first_visit": 12, "patients_follow_up": 8}),
        (date(2025, 3, 4), "clinic", {"session": "pm", "patients_first_visit": 5}),
        (date(2025, 3, 4), "surgery", {"grade": "grade_3", "role": "primary"}),
        (date(2025, 3, 5), "lecture", {"hours": 2, "audience_count": 40}),
        (date(2025, 3, 3), "mentoring", {"trainee_id": t1}),
        (date(2025, 3, 5), "mentoring", {"trainee_id": t1}),
        (date(2025, 3, 4), "mentoring", {"trainee_id": t2}),
    ]
    for day, kind, fields in approved:
        await add_entry(session, dep, day, kind, fields)
    await add_entry(session, dep, date(2025, 3, 10), "clinic", {"patients_first_visit": 50}, status="submitted")
    await add_entry(session, dep, date(2025, 3, 11), "new_technique", {"name": "腹腔镜"}, status="submitted")
    await add_entry(session, dep, date(2025, 3, 12), "clinic", {"patients_first_visit": 3}, status="draft")
    await add_entry(session, dep, date(2025, 3, 13), "clinic", {"patients_first_visit": 4}, status="returned")
    await add_entry(session, dep, date(2025, 4, 1), "clinic", {"patients_first_visit": 99})  # April: not March
    other = await make_deployment(session, world.expert_a2, world.hospital_a, starts_on=date(2025, 1, 1))
    await add_entry(session, other, date(2025, 3, 3), "clinic", {"patients_first_visit": 77})  # someone else
    await session.commit()
    return dep


async def test_monthly_summary_draft_tells_approved_and_pending_apart(session: AsyncSession, world: World) -> None:
    dep = await _march(session, world)
    view = await summaries.get_summary(session, as_principal(world.expert_a), world.expert_a.id, "2025-03", APRIL)
    c = view.content
    assert (view.state, view.saved, view.figures_frozen) == ("draft", False, False)
    # By hand: 11 approved entries; 3 days present, 1 on leave; patients 12+8+5 = 25; one grade-3 surgery;
    # 2 teaching hours to 40 attendees; trainees t1 and t2 = 2.
    a = c.approved
    assert (a.entries, a.on_site_days, a.leave_days, a.patients, a.surgeries) == (11, 3, 1, 25, 1)
    assert (a.teaching_hours, a.attendees, a.people_served, a.new_techniques, a.trainees) == (2.0, 40, 0, 0, 2)
    # Pending apart, never added: a clinic of 50 and a new technique.
    p = c.pending
    assert (p.entries, p.patients, p.new_techniques) == (2, 50, 1)
    assert c.unsent_entries == 2  # one draft, one returned
    assert [(t.activity_type, t.count) for t in c.approved_by_type] == [
        ("attendance", 4), ("clinic", 2), ("lecture", 1), ("mentoring", 3), ("surgery", 1)]
    assert [(t.activity_type, t.count) for t in c.pending_by_type] == [("clinic", 1), ("new_technique", 1)]
    assert sorted((e.status, e.work_date.day) for e in c.entries if e.status == "pending") == [
        ("pending", 10), ("pending", 11)]
    assert len(c.entries) == 13
    assert [d.recipient for d in c.deployments] == [world.hospital_a.name]
    assert dep.id is not None


async def test_summary_cycle_freezes_figures_and_is_audited(session: AsyncSession, world: World) -> None:
    dep = await _march(session, world)
    me = as_principal(world.expert_a)
    sup = as_principal(world.supervisor_a, ("supervisor", world.hospital_a.id))
    saved = await summaries.save_summary(session, me, world.expert_a.id, "2025-03", "  本月开展门诊和带教。 ", APRIL)
    assert (saved.state, saved.saved, saved.narrative) == ("draft", True, "本月开展门诊和带教。")
    sent = await summaries.submit_summary(session, me, world.expert_a.id, "2025-03", None, APRIL)
    assert (sent.state, sent.figures_frozen, sent.content.approved.patients) == ("submitted", True, 25)
    with pytest.raises(Conflict) as refused:  # the author cannot change it while it is under review
        await summaries.save_summary(session, me, world.expert_a.id, "2025-03", "改", APRIL)
    assert refused.value.extra["reason"] == "save_not_allowed"
    # An entry approved after submission does not change what the supervisor sees.
    await add_entry(session, dep, date(2025, 3, 20), "clinic", {"patients_first_visit": 30})
    returned = await summaries.review_summary(session, sup, world.expert_a.id, "2025-03", "return", "请补充带教情况",
                                              APRIL)
    assert (returned.state, returned.review_comment, returned.figures_frozen) == ("returned", "请补充带教情况", False)
    assert returned.content.approved.patients == 55  # live again: 25 + 30
    await summaries.submit_summary(session, me, world.expert_a.id, "2025-03", "本月开展门诊和带教,带教骨干两名。", APRIL)
    done = await summaries.review_summary(session, sup, world.expert_a.id, "2025-03", "approve", None, APRIL)
    assert (done.state, done.reviewed_by, done.content.approved.patients) == ("approved", world.supervisor_a.name, 55)
    with pytest.raises(Locked):
        await summaries.save_summary(session, me, world.expert_a.id, "2025-03", "改", APRIL)
    await session.commit()
    actions = (await session.execute(select(AuditEvent.action).where(AuditEvent.object_type == "monthly_summary")
                                     .order_by(AuditEvent.seq))).scalars().all()
    assert actions == ["summary.save", "summary.submit", "summary.return", "summary.submit", "summary.approve"]


async def test_summary_scope(session: AsyncSession, world: World) -> None:
    await _march(session, world)
    me = as_principal(world.expert_a)
    await summaries.submit_summary(session, me, world.expert_a.id, "2025-03", "小结", APRIL)
    callers = {
        "expert_b": as_principal(world.expert_b),
        "supervisor_b": as_principal(world.supervisor_b, ("supervisor", world.hospital_b.id)),
        "other_hr": as_principal(world.other_hr, ("hr", world.other_home.id)),
    }
    for who, caller in callers.items():
        with pytest.raises(NotFound):
            await summaries.get_summary(session, caller, world.expert_a.id, "2025-03", APRIL)
        assert await summaries.list_summaries(session, caller, state=None, month_text=None) == [], who
    with pytest.raises(NotFound):  # another expert cannot write it, nor a supervisor elsewhere review it
        await summaries.save_summary(session, callers["expert_b"], world.expert_a.id, "2025-03", "x", APRIL)
    with pytest.raises(NotFound):
        await summaries.review_summary(session, callers["supervisor_b"], world.expert_a.id, "2025-03", "approve",
                                       None, APRIL)
    hr = as_principal(world.hr, ("hr", world.home.id))
    assert (await summaries.get_summary(session, hr, world.expert_a.id, "2025-03", APRIL)).state == "submitted"
    sup = as_principal(world.supervisor_a, ("supervisor", world.hospital_a.id))
    assert [(s.expert_name, s.month, s.state) for s in await summaries.list_summaries(
        session, sup, state="submitted", month_text=None)] == [(world.expert_a.name, "2025-03", "submitted")]
    # A supervisor reads only the months the expert spent at their hospital: nothing here in 2024-12.
    with pytest.raises(NotFound):
        await summaries.get_summary(session, sup, world.expert_a.id, "2024-12", APRIL)


YEAR = 2025


async def _programme(session: AsyncSession, world: World, *, targets: bool = True) -> Any:
    agr = await make_agreement(session, world.home, world.hospital_a, programme="team_support", targets={YEAR: {
        "min_staff": 3, "min_leaders": 1, "min_continuous_months": 6, "min_trainees": 2, "min_new_techniques": 1,
        "full_year_coverage": True}} if targets else None)
    x, y, z = [await make_user(session, home=world.home, name=n) for n in ("院长甲", "专家乙", "专家丙")]
    dx = await make_deployment(session, x, world.hospital_a, agreement=agr, post="vice_president",
                               starts_on=date(2025, 1, 1), actual_end=date(2025, 6, 30), status="ended")
    dy = await make_deployment(session, y, world.hospital_a, agreement=agr, starts_on=date(2025, 3, 10),
                               actual_end=date(2025, 5, 31), status="ended", department="骨科")
    dz = await make_deployment(session, z, world.hospital_a, agreement=agr, starts_on=date(2025, 8, 1),
                               actual_end=date(2026, 1, 31), status="ended", department="儿科")
    trainee = str(uuid.uuid4())
    for dep, day, kind, fields in [
        (dx, date(2025, 1, 2), "attendance", {"status": "present"}),
        (dx, date(2025, 1, 3), "attendance", {"status": "present"}),
        (dx, date(2025, 2, 1), "clinic", {"patients_first_visit": 10}),
        (dx, date(2025, 2, 2), "mentoring", {"trainee_id": trainee}),
        (dx, date(2025, 3, 1), "new_technique", {"name": "胸腔镜"}),
        (dy, date(2025, 4, 1), "mentoring", {"trainee_id": trainee}),  # the same trainee: still one
        (dy, date(2025, 4, 2), "surgery", {"grade": "grade_2", "role": "primary"}),
        (dz, date(2025, 8, 1), "attendance", {"status": "present"}),
        (dz, date(2025, 9, 1), "lecture", {"hours": 3, "audience_count": 25}),
        (dz, date(2026, 1, 5), "clinic", {"patients_first_visit": 7}),  # 2026: not this year
    ]:
        await add_entry(session, dep, day, kind, fields)
    await add_entry(session, dz, date(2025, 9, 2), "new_technique", {"name": "x"}, status="submitted")
    session.add_all([
        Appraisal(deployment_id=dx.id, period_start=date(2025, 1, 1), period_end=date(2025, 6, 30),
                  state="countersigned", self_assessment="自评", rating="excellent"),
        Appraisal(deployment_id=dy.id, period_start=date(2025, 3, 10), period_end=date(2025, 5, 31), state="rated",
                  self_assessment="自评", rating="qualified"),
        Appraisal(deployment_id=dz.id, period_start=date(2025, 8, 1), period_end=date(2026, 1, 31),
                  state="countersigned", self_assessment="自评", rating="unqualified"),  # ends in 2026
    ])
    await session.commit()
    return agr


async def test_annual_report_against_hand_computed_indicators(session: AsyncSession, world: World) -> None:
    agr = await _programme(session, world)
    hr = as_principal(world.hr, ("hr", world.home.id))
    r = await annual_report(session, hr, agr.id, year=YEAR, today=date(2026, 3, 1))
    assert (r.complete, r.targets_set, r.targets_note) == (True, True, None)
    # Stationed: 01-01..06-30 (181 days) and 08-01..12-31 (153 days) = 334 of 365; July (31 days) empty.
    assert (r.days_in_year, r.covered_days, r.uncovered_days) == (365, 334, 31)
    assert (r.longest_gap_days, r.longest_gap_start, r.longest_gap_end) == (31, date(2025, 7, 1), date(2025, 7, 31))
    # 3 experts, 1 vice-president; person-days 181 + 83 (03-10..05-31) + 153 = 417.
    assert (r.experts_stationed, r.leaders_stationed, r.person_days) == (3, 1, 417)
    # Continuous months per person: 6 (Jan-Jun), 2 (03-10..05-31), 6 (08-01..2026-01-31, the whole stint).
    assert [(s.name, s.continuous_months, s.reached) for s in r.stays] == [
        ("院长甲", 6, True), ("专家乙", 2, False), ("专家丙", 6, True)]
    assert (r.trainees, r.new_techniques) == (1, 1)
    t = r.totals
    assert (t.on_site_days, t.patients, t.surgeries, t.teaching_hours, t.attendees) == (3, 10, 1, 3.0, 25)
    assert r.pending.entries == 1
    assert [(row.key, row.required, row.achieved, row.met) for row in r.targets] == [
        ("min_staff", 3, 3, True), ("min_leaders", 1, 1, True), ("min_continuous_months", 6, 2, False),
        ("min_trainees", 2, 1, False), ("min_new_techniques", 1, 1, True), ("full_year_coverage", True, False, False)]
    assert [m.key for m in r.missing] == ["min_continuous_months", "min_trainees", "full_year_coverage"]
    assert r.missing[1].detail == "目标 2 人，已完成 1 人，尚差 1 人。"
    teams = {m.month: m for m in r.teams}
    assert len(r.teams) == 12
    assert (teams["2025-01"].experts, teams["2025-01"].leaders, teams["2025-01"].on_site_days) == (1, 1, 2)
    assert [m.name for m in teams["2025-03"].members] == ["院长甲", "专家乙"]
    assert teams["2025-07"].experts == 0
    assert (teams["2025-08"].experts, teams["2025-08"].on_site_days) == (1, 1)
    # Ratings of periods ending in 2025: one countersigned excellent, one rated but not countersigned.
    ratings = r.ratings
    assert (ratings.excellent, ratings.qualified, ratings.unqualified, ratings.final, ratings.in_progress) == (
        1, 0, 0, 1, 1)


async def test_annual_report_without_targets_says_so(session: AsyncSession, world: World) -> None:
    agr = await _programme(session, world, targets=False)
    admin = as_principal(world.admin, ("admin", None))
    r = await annual_report(session, admin, agr.id, year=YEAR, today=date(2026, 3, 1))
    assert r.targets_set is False
    assert r.targets_note is not None
    assert r.targets_note.startswith("本协议未设定 2025 年度目标")
    # Compared with the national minimum of seed 000 instead: 5 staff, 1 leader, 6 months, 3 trainees, all year.
    assert [(row.key, row.required) for row in r.targets] == [
        ("min_staff", 5), ("min_leaders", 1), ("min_continuous_months", 6), ("min_trainees", 3),
        ("full_year_coverage", True)]
    assert [m.key for m in r.missing] == ["min_staff", "min_continuous_months", "min_trainees", "full_year_coverage"]
    # An empty year does not fail either.
    empty = await make_agreement(session, world.home, world.hospital_b)
    await session.commit()
    e = await annual_report(session, admin, empty.id, year=YEAR, today=date(2026, 3, 1))
    assert (e.experts_stationed, e.uncovered_days, e.longest_gap_days, e.stays) == (0, 365, 365, [])


async def test_annual_report_is_for_the_supporting_hospitals_hr_and_admins(session: AsyncSession,
                                                                          world: World) -> None:
    agr = await _programme(session, world)
    for caller in (as_principal(world.other_hr, ("hr", world.other_home.id)),
                   as_principal(world.supervisor_a, ("supervisor", world.hospital_a.id)),
                   as_principal(world.expert_a)):
        with pytest.raises(NotFound):
            await annual_report(session, caller, agr.id, year=YEAR, today=date(2026, 3, 1))
