"""Pure rules of the reports: the summary's month and state machine, pending figures, teams by month, gaps."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from backend.errors import Conflict, InvalidInput, Locked
from backend.reports.figures import figures_of, type_counts
from backend.reports.programme import StayInfo, missing_items, team_months
from backend.reports.rules import (
    SummaryAction,
    SummaryState,
    check_month_over,
    check_text,
    month_end,
    next_state,
    parse_month,
)
from backend.stats.coverage import StayAt, coverage, targets_table


def test_month_is_parsed_as_its_first_day_and_bad_months_name_the_field() -> None:
    assert parse_month("2026-02") == date(2026, 2, 1)
    assert month_end(date(2024, 2, 1)) == date(2024, 2, 29)
    for bad in ("2026-13", "2026-2", "26-02", "1999-12", "2026-02-01", ""):
        with pytest.raises(InvalidInput) as exc:
            parse_month(bad)
        assert [(e.field, e.code) for e in exc.value.errors] == [("month", "invalid_month")]


def test_a_month_not_over_is_refused_with_the_day_it_opens() -> None:
    check_month_over(date(2026, 10, 1), date(2026, 11, 1))  # the day after the month: fine
    for today in (date(2026, 10, 31), date(2026, 10, 15)):
        with pytest.raises(InvalidInput) as exc:
            check_month_over(date(2026, 10, 1), today)
        assert exc.value.extra == {"reason": "month_not_over", "available_from": "2026-11-01"}
        assert exc.value.errors[0].code == "month_not_over"


def test_summary_state_machine_follows_the_entry_review_cycle() -> None:
    s = next_state(SummaryState.draft, SummaryAction.save)
    assert s is SummaryState.draft
    s = next_state(s, SummaryAction.submit)
    assert s is SummaryState.submitted
    assert next_state(s, SummaryAction.return_) is SummaryState.returned
    assert next_state(SummaryState.returned, SummaryAction.save) is SummaryState.returned
    assert next_state(SummaryState.returned, SummaryAction.submit) is SummaryState.submitted
    assert next_state(SummaryState.submitted, SummaryAction.approve) is SummaryState.approved


@pytest.mark.parametrize(("state", "action", "error", "reason"), [
    (SummaryState.submitted, SummaryAction.save, Conflict, "save_not_allowed"),
    (SummaryState.submitted, SummaryAction.submit, Conflict, "submit_not_allowed"),
    (SummaryState.draft, SummaryAction.approve, Conflict, "approve_not_allowed"),
    (SummaryState.returned, SummaryAction.return_, Conflict, "return_not_allowed"),
    (SummaryState.approved, SummaryAction.save, Locked, "save_not_allowed"),
    (SummaryState.approved, SummaryAction.approve, Locked, "approve_not_allowed"),
    (SummaryState.approved, SummaryAction.return_, Locked, "return_not_allowed"),
])
def test_summary_refusals_say_why(state: SummaryState, action: SummaryAction, error: type[Exception],
                                  reason: str) -> None:
    with pytest.raises(error) as exc:
        next_state(state, action)
    assert exc.value.extra["reason"] == reason  # type: ignore[attr-defined]


def test_free_text_is_trimmed_and_bounded() -> None:
    assert check_text("  本月完成…  ", "narrative", 10) == "本月完成…"
    with pytest.raises(InvalidInput):
        check_text("x" * 11, "narrative", 10)
    with pytest.raises(InvalidInput) as exc:
        check_text("   ", "narrative", 10, required=True)
    assert exc.value.errors[0].code == "required"


def test_pending_figures_use_the_roll_up_definitions() -> None:
    trainee = str(uuid.uuid4())
    fig = figures_of([
        ("attendance", {"status": "present"}, None),
        ("attendance", {"status": "leave"}, None),
        ("clinic", {"patients_first_visit": 7, "patients_follow_up": 5}, None),
        ("emergency", {}, None),  # a rescue is at least one patient
        ("surgery", {"grade": "grade_3", "role": "primary"}, 90),
        ("lecture", {"hours": 1.5, "audience_count": 30}, None),
        ("teaching_round", {"attendees": 6}, None),
        ("free_clinic", {"people_served": 120}, None),
        ("new_technique", {}, None),
        ("mentoring", {"trainee_id": trainee}, None),
        ("mentoring", {"trainee_id": trainee}, None),
    ])
    assert (fig.entries, fig.on_site_days, fig.leave_days, fig.patients, fig.surgeries) == (11, 1, 1, 13, 1)
    assert (fig.teaching_hours, fig.attendees, fig.people_served, fig.new_techniques, fig.trainees) == (
        1.5, 36, 120, 1, 1)
    assert [(t.activity_type, t.count) for t in type_counts(["clinic", "surgery", "clinic"])] == [
        ("clinic", 2), ("surgery", 1)]


A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))
D_A, D_B, D_C = (uuid.UUID(int=i) for i in (11, 12, 13))


def _year_2025() -> tuple[list[StayAt], dict[uuid.UUID | None, StayInfo]]:
    stays = [
        StayAt(expert_id=A, deployment_id=D_A, post="vice_president", start=date(2025, 1, 1), end=date(2025, 6, 30)),
        StayAt(expert_id=B, deployment_id=D_B, post="clinical_expert", start=date(2025, 3, 10), end=date(2025, 5, 31)),
        StayAt(expert_id=C, deployment_id=D_C, post="clinical_expert", start=date(2025, 8, 1), end=date(2026, 1, 31)),
    ]
    info: dict[uuid.UUID | None, StayInfo] = {D_A: StayInfo(name="甲", department="内科"),
                                              D_B: StayInfo(name="乙", department="外科"),
                                              D_C: StayInfo(name="丙", department="儿科")}
    return stays, info


def test_teams_month_by_month_clip_each_stay_to_the_month() -> None:
    stays, info = _year_2025()
    cov = coverage(2025, stays)
    teams = team_months(2025, cov.stays, info, {(D_A, "2025-03"): 20, (D_B, "2025-03"): 15}, as_of=date(2025, 12, 31))
    assert [t.month for t in teams] == [f"2025-{m:02d}" for m in range(1, 13)]
    by = {t.month: t for t in teams}
    assert [(m.name, m.days_in_month, m.on_site_days) for m in by["2025-03"].members] == [("甲", 31, 20), ("乙", 22, 15)]
    assert (by["2025-03"].experts, by["2025-03"].leaders, by["2025-03"].on_site_days) == (2, 1, 35)
    assert by["2025-07"].experts == 0
    assert by["2025-07"].members == []
    assert [(m.name, m.days_in_month) for m in by["2025-12"].members] == [("丙", 31)]
    # A running year stops at as_of.
    assert len(team_months(2025, cov.stays, info, {}, as_of=date(2025, 4, 15))) == 4


def test_missing_items_name_people_days_and_shortfalls() -> None:
    stays, _ = _year_2025()
    cov = coverage(2025, stays)
    targets = {"min_staff": 5, "min_leaders": 1, "min_continuous_months": 6, "min_trainees": 3,
               "min_new_techniques": 1, "full_year_coverage": True}
    achieved = {"min_staff": 3, "min_leaders": 1, "min_continuous_months": cov.shortest_continuous_months or 0,
                "min_trainees": 1, "min_new_techniques": 2, "full_year_coverage": cov.uncovered_days == 0}
    rows = targets_table(targets, achieved)
    items = missing_items(rows, cov, {A: "甲", B: "乙", C: "丙"})
    assert [i.key for i in items] == ["min_staff", "min_continuous_months", "min_trainees", "full_year_coverage"]
    detail = {i.key: i.detail for i in items}
    assert detail["min_staff"] == "目标 5 人，已完成 3 人，尚差 2 人。"
    # 乙 stayed 2025-03-10..05-31: 2 whole months (06-10 would have been 3).
    assert detail["min_continuous_months"] == "每人连续驻点应不少于 6 个月：乙 连续驻点 2 个月。"
    assert detail["min_trainees"] == "目标 3 人，已完成 1 人，尚差 2 人。"
    # Nobody on site 2025-07-01..07-31: 31 of 365 days.
    assert detail["full_year_coverage"] == "全年 365 天中有 31 天无人驻点，最长空档 2025-07-01 至 2025-07-31（31 天）。"
