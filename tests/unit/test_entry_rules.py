"""Entry rules: the work date within the deployment, times, location consent and the device's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import msgspec
import pytest

from backend.errors import FieldError
from backend.worklog.rules import (
    check_device_time,
    check_location,
    check_times,
    check_work_date,
    editable_window,
    local_today,
)

SHANGHAI = "Asia/Shanghai"
# 2024-06-10 17:30 UTC is already 2024-06-11 01:30 in Shanghai.
NOW = datetime(2024, 6, 10, 17, 30, tzinfo=UTC)


def codes(errors: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in errors]


def work_date_errors(work_date: date, **overrides: Any) -> list[tuple[str, str]]:
    deployment: dict[str, Any] = {
        "deployment_start": date(2024, 3, 1),
        "deployment_planned_end": date(2024, 8, 31),
        "deployment_actual_end": None,
        "grace_days": 30,
        "tz_name": SHANGHAI,
        "now_utc": NOW,
    }
    return codes(check_work_date(work_date, **(deployment | overrides)))


# --- local day and editable window -------------------------------------------------------------------------


def test_local_today_is_the_date_in_the_institution_timezone() -> None:
    assert local_today(SHANGHAI, NOW) == date(2024, 6, 11)
    assert local_today("UTC", NOW) == date(2024, 6, 10)
    assert local_today("Asia/Urumqi", NOW) == date(2024, 6, 10)  # UTC+6: 23:30 on the 10th


def test_local_today_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_today(SHANGHAI, datetime(2024, 6, 10, 17, 30))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("planned_end", "actual_end", "grace", "last"),
    [
        (date(2024, 8, 31), None, 30, date(2024, 9, 30)),
        (date(2024, 8, 31), date(2024, 7, 15), 30, date(2024, 8, 14)),  # left early: the actual end wins
        (date(2024, 8, 31), date(2024, 10, 1), 0, date(2024, 10, 1)),  # stayed on
        (None, None, 30, None),  # open-ended deployment
        (None, date(2024, 5, 1), 7, date(2024, 5, 8)),
    ],
)
def test_editable_window(
    planned_end: date | None, actual_end: date | None, grace: int, last: date | None
) -> None:
    assert editable_window(date(2024, 3, 1), planned_end, actual_end, grace) == (date(2024, 3, 1), last)


def test_editable_window_refuses_negative_grace() -> None:
    with pytest.raises(ValueError, match="grace_days"):
        editable_window(date(2024, 3, 1), None, None, -1)


# --- work date --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "work_date",
    [
        date(2024, 3, 1),  # first day
        date(2024, 6, 10),
        date(2024, 6, 11),  # today in Shanghai
        date(2024, 6, 12),  # tomorrow is allowed (timezone edges)
    ],
)
def test_work_date_inside_the_deployment_is_accepted(work_date: date) -> None:
    assert work_date_errors(work_date) == []


def test_work_date_before_the_deployment_is_refused() -> None:
    assert work_date_errors(date(2024, 2, 29)) == [("work_date", "before_deployment")]


def test_work_date_after_tomorrow_is_refused() -> None:
    assert work_date_errors(date(2024, 6, 13)) == [("work_date", "in_future")]


def test_tomorrow_is_counted_in_the_institution_timezone_not_utc() -> None:
    # In UTC it is still the 10th, so the 12th is the day after tomorrow.
    assert work_date_errors(date(2024, 6, 12), tz_name="UTC") == [("work_date", "in_future")]


def test_grace_period_after_the_planned_end_is_accepted_then_refused() -> None:
    now = datetime(2024, 12, 1, 4, 0, tzinfo=UTC)
    assert work_date_errors(date(2024, 9, 30), now_utc=now) == []
    assert work_date_errors(date(2024, 10, 1), now_utc=now) == [("work_date", "after_deployment")]


def test_actual_end_overrides_the_planned_end() -> None:
    now = datetime(2024, 12, 1, 4, 0, tzinfo=UTC)
    errors = work_date_errors(
        date(2024, 8, 1), deployment_actual_end=date(2024, 6, 15), grace_days=0, now_utc=now
    )
    assert errors == [("work_date", "after_deployment")]


def test_a_date_both_after_the_deployment_and_in_the_future_reports_both() -> None:
    assert work_date_errors(date(2025, 1, 1)) == [
        ("work_date", "after_deployment"),
        ("work_date", "in_future"),
    ]


def test_work_date_error_message_names_the_dates() -> None:
    errors = check_work_date(
        date(2024, 2, 1),
        deployment_start=date(2024, 3, 1),
        deployment_planned_end=None,
        deployment_actual_end=None,
        grace_days=30,
        tz_name=SHANGHAI,
        now_utc=NOW,
    )
    assert "2024-02-01" in errors[0].message
    assert "2024-03-01" in errors[0].message


# --- times ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "duration"),
    [
        (None, None, None),
        (time(8, 0), time(11, 30), None),
        (time(8, 0), time(11, 30), 210),
        (time(8, 0), time(11, 30), 180),  # breaks make the duration shorter than the span
        (time(22, 0), None, 240),  # overnight work: a start and a duration
        (None, None, 1440),
    ],
)
def test_valid_times(start: time | None, end: time | None, duration: int | None) -> None:
    assert check_times(start, end, duration) == []


@pytest.mark.parametrize(
    ("start", "end", "duration", "expected"),
    [
        (time(11, 0), time(9, 0), None, [("end_time", "end_before_start")]),
        (time(9, 0), time(9, 0), None, [("end_time", "end_before_start")]),
        (time(8, 0), time(9, 0), 90, [("duration_minutes", "duration_mismatch")]),
        (None, None, 0, [("duration_minutes", "out_of_range")]),
        (None, None, 1441, [("duration_minutes", "out_of_range")]),
        (
            time(11, 0),
            time(9, 0),
            -5,
            [("duration_minutes", "out_of_range"), ("end_time", "end_before_start")],
        ),
    ],
)
def test_invalid_times(
    start: time | None, end: time | None, duration: int | None, expected: list[tuple[str, str]]
) -> None:
    assert codes(check_times(start, end, duration)) == expected


# --- location ---------------------------------------------------------------------------------------------


class Location(msgspec.Struct, kw_only=True):
    lat: float
    lon: float


@pytest.mark.parametrize(
    "location",
    [
        None,
        {"lat": 29.65, "lon": 91.1},
        {"lat": -90, "lon": 180},
        Location(lat=43.8, lon=87.6),
    ],
)
def test_location_with_consent_is_accepted(location: object) -> None:
    assert check_location(location, consent=True) == []


def test_no_location_needs_no_consent() -> None:
    assert check_location(None, consent=False) == []


def test_location_without_consent_is_refused() -> None:
    errors = check_location({"lat": 29.65, "lon": 91.1}, consent=False)
    assert codes(errors) == [("location", "consent_required")]
    assert "consent" in errors[0].message


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ({"lat": 91, "lon": 0}, [("location.lat", "out_of_range")]),
        ({"lat": 0, "lon": -180.5}, [("location.lon", "out_of_range")]),
        ({"lat": float("nan"), "lon": 0}, [("location.lat", "out_of_range")]),
        ({"lat": "29.6", "lon": True}, [("location.lat", "type"), ("location.lon", "type")]),
        ({"lon": 91.1}, [("location.lat", "required")]),
        ({}, [("location.lat", "required"), ("location.lon", "required")]),
        (Location(lat=100, lon=200), [("location.lat", "out_of_range"), ("location.lon", "out_of_range")]),
    ],
)
def test_invalid_coordinates_are_refused(location: object, expected: list[tuple[str, str]]) -> None:
    assert codes(check_location(location, consent=True)) == expected


def test_bad_coordinates_without_consent_report_everything() -> None:
    errors = check_location({"lat": 95, "lon": 0}, consent=False)
    assert codes(errors) == [("location", "consent_required"), ("location.lat", "out_of_range")]


# --- device clock -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "device_time",
    [
        None,
        NOW,
        NOW + timedelta(minutes=9),
        NOW - timedelta(days=5),  # a phone offline for days reports an old time: fine
        datetime(2024, 6, 11, 1, 35, tzinfo=timezone(timedelta(hours=8))),  # same instant, Beijing offset
    ],
)
def test_device_clock_near_or_behind_the_server_is_accepted(device_time: datetime | None) -> None:
    assert check_device_time(device_time, NOW) == []


def test_far_future_device_clock_is_refused() -> None:
    errors = check_device_time(NOW + timedelta(minutes=11), NOW)
    assert codes(errors) == [("device_time", "device_clock_in_future")]


def test_device_clock_tolerance_is_configurable() -> None:
    assert check_device_time(NOW + timedelta(hours=1), NOW, max_future=timedelta(hours=2)) == []
    assert codes(check_device_time(NOW + timedelta(minutes=2), NOW, max_future=timedelta(minutes=1))) == [
        ("device_time", "device_clock_in_future")
    ]


def test_device_time_without_offset_is_refused() -> None:
    naive = datetime(2024, 6, 10, 17, 30)  # noqa: DTZ001
    assert codes(check_device_time(naive, NOW)) == [("device_time", "timezone_required")]
