"""Agreement compliance of a recipient for a year: stationing, gaps, continuous months, targets."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from backend.stats.coverage import (
    Coverage,
    Gap,
    StayAt,
    achieved_from,
    continuous_months,
    coverage,
    default_targets,
    effective_end,
    targets_table,
)

ALICE, BOB, CHEN, DING = (uuid.uuid4() for _ in range(4))


def at(
    expert: uuid.UUID, start: date, end: date, post: str = "clinical_expert", *, ongoing: bool = False
) -> StayAt:
    return StayAt(
        expert_id=expert, start=start, end=end, post=post, ongoing=ongoing, deployment_id=uuid.uuid4()
    )


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2026, 1, 15), date(2026, 7, 14), 6),
        (date(2026, 1, 15), date(2026, 7, 13), 5),
        (date(2026, 1, 1), date(2026, 6, 30), 6),
        (date(2025, 10, 1), date(2026, 3, 31), 6),  # across the turn of the year
        (date(2026, 1, 31), date(2026, 2, 27), 1),  # Jan 31 + 1 month is Feb 28
        (date(2026, 1, 31), date(2026, 2, 26), 0),
        (date(2026, 3, 1), date(2026, 3, 1), 0),
        (date(2026, 1, 1), date(2026, 12, 31), 12),
    ],
)
def test_continuous_months_are_whole_months_from_start_to_end(start: date, end: date, months: int) -> None:
    assert continuous_months(start, end) == months


def test_a_year_with_gaps_reports_uncovered_days_and_the_longest_gap() -> None:
    stays = [
        at(ALICE, date(2026, 1, 1), date(2026, 3, 31)),
        at(BOB, date(2026, 4, 11), date(2026, 8, 31)),  # 1-10 April nobody: 10 days
        at(CHEN, date(2026, 10, 1), date(2026, 12, 31)),  # September nobody: 30 days
    ]
    cov = coverage(2026, stays)
    assert (cov.days_in_year, cov.covered_days, cov.uncovered_days) == (365, 325, 40)
    assert cov.gaps == [
        Gap(start=date(2026, 4, 1), end=date(2026, 4, 10), days=10),
        Gap(start=date(2026, 9, 1), end=date(2026, 9, 30), days=30),
    ]
    assert (cov.longest_gap_days, cov.longest_gap_start, cov.longest_gap_end) == (
        30,
        date(2026, 9, 1),
        date(2026, 9, 30),
    )


def test_a_year_covered_by_relays_and_overlaps_has_no_gap() -> None:
    stays = [at(ALICE, date(2025, 7, 1), date(2026, 6, 30)), at(BOB, date(2026, 6, 1), date(2027, 1, 31))]
    cov = coverage(2026, stays)
    assert (cov.uncovered_days, cov.longest_gap_days, cov.longest_gap_start, cov.gaps) == (0, 0, None, [])
    assert cov.complete is True


def test_a_year_with_nobody_is_one_gap() -> None:
    cov = coverage(2026, [])
    assert (cov.uncovered_days, cov.longest_gap_days, cov.experts_stationed) == (365, 365, 0)
    assert cov.shortest_continuous_months is None


def test_a_running_year_counts_days_up_to_as_of() -> None:
    stays = [at(ALICE, date(2026, 1, 1), date(2026, 2, 28)), at(BOB, date(2026, 5, 1), date(2026, 10, 31))]
    cov = coverage(2026, stays, as_of=date(2026, 3, 31))
    assert (cov.complete, cov.days_in_year, cov.uncovered_days) == (False, 90, 31)
    assert cov.experts_stationed == 1  # Bob has not arrived by 31 March


def test_a_year_that_has_not_begun_has_no_days() -> None:
    cov = coverage(2027, [at(ALICE, date(2026, 10, 1), date(2027, 3, 31))], as_of=date(2026, 11, 1))
    assert (cov.days_in_year, cov.experts_stationed, cov.stays) == (0, 0, [])


def test_experts_and_leaders_are_counted_once_each() -> None:
    stays = [
        at(ALICE, date(2026, 1, 1), date(2026, 6, 30), "vice_president"),
        at(ALICE, date(2026, 8, 1), date(2026, 12, 31), "president"),
        at(BOB, date(2026, 3, 1), date(2026, 9, 30), "president"),
        at(CHEN, date(2026, 1, 1), date(2026, 12, 31), "department_head"),
        at(DING, date(2025, 1, 1), date(2025, 12, 31), "president"),  # last year only
    ]
    cov = coverage(2026, stays)
    assert cov.experts_stationed == 3
    assert cov.leaders_stationed == 2
    assert len(cov.stays) == 4


def test_person_days_never_count_one_experts_day_twice() -> None:
    stays = [at(ALICE, date(2026, 1, 1), date(2026, 1, 20)), at(ALICE, date(2026, 1, 11), date(2026, 1, 31))]
    stays.append(at(BOB, date(2026, 1, 1), date(2026, 1, 10)))
    cov = coverage(2026, stays, as_of=date(2026, 1, 31))
    assert cov.person_days == 31 + 10


def test_a_stay_crossing_the_year_is_measured_whole() -> None:
    cov = coverage(2026, [at(ALICE, date(2025, 10, 1), date(2026, 3, 31))])
    (row,) = cov.stays
    assert (row.continuous_months, row.reached) == (6, True)
    assert cov.experts_stationed == 1


def test_back_to_back_stays_of_one_expert_are_one_continuous_stint() -> None:
    stays = [
        at(ALICE, date(2026, 1, 1), date(2026, 3, 31), "department_head"),
        at(ALICE, date(2026, 4, 1), date(2026, 6, 30), "vice_president"),
        at(BOB, date(2026, 1, 1), date(2026, 3, 31)),
        at(BOB, date(2026, 4, 2), date(2026, 6, 30)),  # one day away: continuity is broken
    ]
    cov = coverage(2026, stays)
    assert {(r.expert_id, r.start): (r.continuous_months, r.reached) for r in cov.stays} == {
        (ALICE, date(2026, 1, 1)): (6, True),
        (ALICE, date(2026, 4, 1)): (6, True),
        (BOB, date(2026, 1, 1)): (3, False),
        (BOB, date(2026, 4, 2)): (2, False),
    }
    assert cov.experts_reaching_min == 1
    assert cov.shortest_continuous_months == 2


def test_an_ongoing_stay_is_measured_to_its_planned_end() -> None:
    as_of = date(2026, 3, 31)
    end = effective_end(None, date(2026, 8, 31), as_of)
    cov = coverage(2026, [at(ALICE, date(2026, 3, 1), end, ongoing=True)], as_of=as_of)
    (row,) = cov.stays
    assert (row.ongoing, row.continuous_months, row.reached) == (True, 6, True)
    assert cov.days_in_year == 90  # coverage itself still stops at as_of


def test_effective_end() -> None:
    as_of = date(2026, 6, 1)
    assert effective_end(date(2026, 5, 1), date(2026, 9, 1), as_of) == date(2026, 5, 1)
    assert effective_end(None, date(2026, 9, 1), as_of) == date(2026, 9, 1)
    assert effective_end(None, date(2026, 4, 1), as_of) == as_of  # overran its plan, still there
    assert effective_end(None, None, as_of) == as_of


def test_min_continuous_months_is_a_parameter() -> None:
    cov = coverage(2026, [at(ALICE, date(2026, 1, 1), date(2026, 3, 31))], min_continuous_months=3)
    assert cov.stays[0].reached is True


def _compliant_year() -> Coverage:
    leaders = [at(ALICE, date(2026, 1, 1), date(2026, 6, 30), "president")]
    others = [at(e, date(2026, 1, 1), date(2026, 12, 31)) for e in (BOB, CHEN, DING)]
    return coverage(2026, [*leaders, *others, at(ALICE, date(2026, 7, 1), date(2026, 9, 30), "president")])


def test_targets_table_reads_required_achieved_met() -> None:
    achieved = achieved_from(_compliant_year(), trainees=2, new_techniques=4)
    rows = targets_table(default_targets() | {"min_new_techniques": 3}, achieved)
    assert [(r.key, r.required, r.achieved, r.met) for r in rows] == [
        ("min_staff", 5, 4, False),
        ("min_leaders", 1, 1, True),
        ("min_continuous_months", 6, 9, True),
        ("min_trainees", 3, 2, False),
        ("min_new_techniques", 3, 4, True),
        ("full_year_coverage", True, True, True),
    ]
    assert rows[0].label_zh == "派驻人员(人)"


def test_tcm_hospital_needs_three_staff() -> None:
    achieved = achieved_from(_compliant_year(), trainees=3, new_techniques=0)
    rows = targets_table(default_targets(tcm=True), achieved)
    assert all(r.met for r in rows)
    assert "min_new_techniques" not in {r.key for r in rows}  # only targets the agreement sets


def test_a_gap_fails_full_year_coverage() -> None:
    cov = coverage(2026, [at(ALICE, date(2026, 1, 2), date(2026, 12, 31))])
    (row,) = targets_table({"full_year_coverage": True}, achieved_from(cov, trainees=0, new_techniques=0))
    assert (row.achieved, row.met) == (False, False)


@pytest.mark.parametrize(
    ("targets", "achieved", "message"),
    [
        ({"min_doctors": 5}, {}, "unknown target keys"),
        ({"min_staff": 5}, {}, "no achieved value for target 'min_staff'"),
        ({"min_staff": True}, {"min_staff": 5}, "target 'min_staff' must be a whole number"),
        (
            {"full_year_coverage": True},
            {"full_year_coverage": 1},
            "achieved 'full_year_coverage' must be true",
        ),
    ],
)
def test_targets_table_refuses_bad_input(
    targets: dict[str, int | bool], achieved: dict[str, int | bool], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        targets_table(targets, achieved)
