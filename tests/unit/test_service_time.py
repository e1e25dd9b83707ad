"""Service time toward the one-year promotion requirement: each counting rule on a small hand-made case."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from backend.service_time import (
    MonthDays,
    ServiceRules,
    Stay,
    day_counts,
    iter_days,
    merge_spans,
    service_days,
)

LENIENT = ServiceRules(require_attendance=False)


def stay(start: date, end: date | None = None, planned_end: date | None = None) -> Stay:
    return Stay(deployment_id=uuid.uuid4(), start=start, end=end, planned_end=planned_end)


def present(first: date, last: date) -> dict[date, str]:
    return dict.fromkeys(iter_days(first, last), "present")


def test_only_approved_present_days_count_by_default() -> None:
    marks = {date(2026, 3, 2): "present", date(2026, 3, 3): "present"}  # 1 and 4 March have no record
    result = service_days(
        [stay(date(2026, 3, 1), date(2026, 3, 4))], marks, ServiceRules(), as_of=date(2026, 4, 1)
    )
    assert result.counted_days == 2
    assert result.by_month == [MonthDays(year=2026, month=3, days=2, counted_days=2)]


def test_travel_day_counts_by_default_and_not_when_the_rule_is_off() -> None:
    stays = [stay(date(2026, 3, 1), date(2026, 3, 3))]
    marks = {date(2026, 3, 1): "travel", date(2026, 3, 2): "present", date(2026, 3, 3): "travel"}
    as_of = date(2026, 4, 1)
    assert service_days(stays, marks, ServiceRules(), as_of=as_of).counted_days == 3
    assert service_days(stays, marks, ServiceRules(count_travel_days=False), as_of=as_of).counted_days == 1


def test_leave_and_off_do_not_count_unless_leave_is_allowed() -> None:
    stays = [stay(date(2026, 3, 1), date(2026, 3, 4))]
    marks = {date(2026, 3, 1): "present", date(2026, 3, 2): "leave", date(2026, 3, 3): "off"}
    as_of = date(2026, 4, 1)
    assert service_days(stays, marks, ServiceRules(), as_of=as_of).counted_days == 1
    assert service_days(stays, marks, ServiceRules(count_leave_days=True), as_of=as_of).counted_days == 2
    # Without required attendance the unrecorded 4 March counts, recorded leave and off still do not.
    assert service_days(stays, marks, LENIENT, as_of=as_of).counted_days == 2


def test_marks_outside_every_stay_and_after_as_of_are_ignored() -> None:
    stays = [stay(date(2026, 3, 10))]  # ongoing
    marks = present(date(2026, 3, 1), date(2026, 3, 31))
    result = service_days(stays, marks, ServiceRules(), as_of=date(2026, 3, 20))
    assert result.counted_days == 11  # 10..20 March


def test_overlapping_stays_never_count_a_day_twice() -> None:
    stays = [stay(date(2026, 3, 1), date(2026, 3, 20)), stay(date(2026, 3, 11), date(2026, 3, 31))]
    result = service_days(stays, {}, LENIENT, as_of=date(2026, 6, 1))
    assert result.counted_days == 31


def test_a_stay_crossing_the_year_counts_in_both_years_months() -> None:
    stays = [stay(date(2025, 12, 20), date(2026, 1, 10))]
    result = service_days(stays, {}, LENIENT, as_of=date(2026, 6, 1))
    assert result.counted_days == 22
    assert [(m.year, m.month, m.counted_days) for m in result.by_month] == [(2025, 12, 12), (2026, 1, 10)]


def test_months_of_a_stay_without_counted_days_still_get_a_row() -> None:
    stays = [stay(date(2026, 1, 30), date(2026, 3, 2))]
    marks = {date(2026, 1, 30): "present", date(2026, 3, 2): "present"}
    result = service_days(stays, marks, ServiceRules(), as_of=date(2026, 6, 1))
    assert [(m.month, m.days) for m in result.by_month] == [(1, 1), (2, 0), (3, 1)]


def test_a_month_below_the_minimum_days_contributes_nothing() -> None:
    stays = [stay(date(2026, 3, 1), date(2026, 4, 30))]
    marks = present(date(2026, 3, 1), date(2026, 3, 20)) | present(date(2026, 4, 1), date(2026, 4, 19))
    result = service_days(stays, marks, ServiceRules(min_days_per_month=20), as_of=date(2026, 6, 1))
    assert result.by_month == [
        MonthDays(year=2026, month=3, days=20, counted_days=20),
        MonthDays(year=2026, month=4, days=19, counted_days=0),
    ]
    assert result.counted_days == 20


def test_a_qualifying_month_credited_as_a_whole_month() -> None:
    # The "a month with >= 20 days on site is one month, twelve months are a year" practice.
    rules = ServiceRules(min_days_per_month=20, month_credit_days=30, year_days=360)
    weekdays = {d: "present" for d in iter_days(date(2025, 1, 1), date(2025, 12, 31)) if d.weekday() < 5}
    result = service_days(
        [stay(date(2025, 1, 1), date(2025, 12, 31))], weekdays, rules, as_of=date(2026, 1, 5)
    )
    assert result.counted_days == 360
    assert all(m.counted_days == 30 for m in result.by_month)
    # December reaches its 20th weekday on 26 December; the whole month is credited then.
    assert result.met_on == date(2025, 12, 26)


def test_met_on_is_the_day_the_cumulative_count_reaches_the_requirement() -> None:
    stays = [stay(date(2025, 1, 1), date(2025, 6, 30)), stay(date(2025, 9, 1))]
    marks = {date(2025, 3, 3): "leave"}  # one day lost, so one more day is needed
    result = service_days(stays, marks, LENIENT, as_of=date(2026, 6, 1))
    # 181 days in the first stay less one leave day = 180; the 185th day from 1 September reaches 365.
    assert result.met_on == date(2025, 9, 1) + timedelta(days=184)
    assert result.remaining_days == 0
    assert result.projected_on is None


def test_month_minimum_delays_met_on_to_the_day_the_month_qualifies() -> None:
    rules = ServiceRules(require_attendance=False, min_days_per_month=10, year_days=15)
    result = service_days([stay(date(2026, 3, 1))], {}, rules, as_of=date(2026, 6, 1))
    assert result.met_on == date(2026, 3, 15)
    rules = ServiceRules(require_attendance=False, min_days_per_month=20, year_days=15)
    result = service_days([stay(date(2026, 3, 1))], {}, rules, as_of=date(2026, 6, 1))
    assert result.met_on == date(2026, 3, 20)  # nothing counts before the month qualifies


def test_projected_on_follows_the_pace_of_the_last_90_days() -> None:
    # Present every other day for the last 90 days: pace 45 / 90, so 100 days need 200 more.
    as_of = date(2026, 6, 30)
    first = as_of - timedelta(days=89)
    marks = {d: "present" for d in iter_days(first, as_of) if (d - first).days % 2 == 0}
    rules = ServiceRules(year_days=145)
    result = service_days([stay(date(2026, 1, 1))], marks, rules, as_of=as_of)
    assert (result.counted_days, result.pace_days, result.pace_window_days) == (45, 45, 90)
    assert result.remaining_days == 100
    assert result.met_on is None
    assert result.projected_on == as_of + timedelta(days=200)


def test_projection_window_is_the_stay_when_it_is_shorter_than_90_days() -> None:
    as_of = date(2026, 3, 30)
    result = service_days([stay(date(2026, 3, 1))], {}, LENIENT, as_of=as_of)
    assert (result.pace_days, result.pace_window_days) == (30, 30)
    assert result.projected_on == as_of + timedelta(days=335)


def test_no_projection_when_nothing_was_counted_lately() -> None:
    result = service_days([stay(date(2025, 1, 1), date(2025, 3, 31))], {}, LENIENT, as_of=date(2026, 1, 1))
    assert result.counted_days == 90
    assert result.pace_days == 0
    assert result.projected_on is None
    assert result.remaining_days == 275


def test_no_stays_counts_nothing() -> None:
    result = service_days(
        [], present(date(2026, 1, 1), date(2026, 1, 31)), ServiceRules(), as_of=date(2026, 2, 1)
    )
    assert (result.counted_days, result.by_month, result.projected_on) == (0, [], None)
    assert result.remaining_days == 365


def test_unknown_attendance_status_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown attendance status 'sick'"):
        day_counts("sick", ServiceRules())


def test_a_stay_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends"):
        stay(date(2026, 3, 2), date(2026, 3, 1))


def test_touching_spans_merge() -> None:
    spans = [(date(2026, 1, 11), date(2026, 1, 20)), (date(2026, 1, 1), date(2026, 1, 10))]
    assert merge_spans(spans) == [(date(2026, 1, 1), date(2026, 1, 20))]


def test_rules_from_an_empty_environment_are_the_defaults() -> None:
    assert ServiceRules.from_env({}) == ServiceRules()
    assert ServiceRules.from_env({"FIELDLOG_SERVICE_COUNT_TRAVEL": ""}) == ServiceRules()


def test_rules_from_the_environment() -> None:
    env = {
        "FIELDLOG_SERVICE_COUNT_TRAVEL": "no",
        "FIELDLOG_SERVICE_COUNT_LEAVE": "TRUE",
        "FIELDLOG_SERVICE_REQUIRE_ATTENDANCE": "0",
        "FIELDLOG_SERVICE_MIN_DAYS_PER_MONTH": " 20 ",
        "FIELDLOG_SERVICE_MONTH_CREDIT_DAYS": "30",
        "FIELDLOG_SERVICE_REQUIRED_DAYS": "360",
    }
    assert ServiceRules.from_env(env) == ServiceRules(
        count_travel_days=False,
        count_leave_days=True,
        require_attendance=False,
        min_days_per_month=20,
        month_credit_days=30,
        year_days=360,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FIELDLOG_SERVICE_COUNT_TRAVEL", "maybe", "FIELDLOG_SERVICE_COUNT_TRAVEL must be true or false"),
        ("FIELDLOG_SERVICE_MIN_DAYS_PER_MONTH", "twenty", "must be a whole number between 0 and 31"),
        ("FIELDLOG_SERVICE_MIN_DAYS_PER_MONTH", "32", "must be between 0 and 31, got 32"),
        ("FIELDLOG_SERVICE_REQUIRED_DAYS", "0", "FIELDLOG_SERVICE_REQUIRED_DAYS must be between 1"),
        ("FIELDLOG_SERVICE_MONTH_CREDIT_DAYS", "30", "needs min_days_per_month"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceRules.from_env({name: value})
