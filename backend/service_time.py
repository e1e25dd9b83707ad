"""Cumulative grassroots service time toward the one-year promotion requirement (docs/statistics.md §3)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta

import msgspec

ONE_DAY = timedelta(days=1)
PACE_WINDOW_DAYS = 90

ENV_COUNT_TRAVEL = "FIELDLOG_SERVICE_COUNT_TRAVEL"
ENV_COUNT_LEAVE = "FIELDLOG_SERVICE_COUNT_LEAVE"
ENV_REQUIRE_ATTENDANCE = "FIELDLOG_SERVICE_REQUIRE_ATTENDANCE"
ENV_MIN_DAYS_PER_MONTH = "FIELDLOG_SERVICE_MIN_DAYS_PER_MONTH"
ENV_MONTH_CREDIT_DAYS = "FIELDLOG_SERVICE_MONTH_CREDIT_DAYS"
ENV_REQUIRED_DAYS = "FIELDLOG_SERVICE_REQUIRED_DAYS"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class DayMark(enum.StrEnum):
    """Status of a day's approved attendance entry (考勤)."""

    PRESENT = "present"
    LEAVE = "leave"
    TRAVEL = "travel"
    OFF = "off"


class ServiceRules(msgspec.Struct, kw_only=True, frozen=True):
    """How days of service are counted; provinces and employers differ, so every rule is a setting."""

    count_travel_days: bool = True
    count_leave_days: bool = False
    require_attendance: bool = True
    min_days_per_month: int = 0
    # 0: a qualifying month contributes the days counted in it; N > 0: it is credited as N days
    # (the "a month with >= min days on site counts as one month" practice, e.g. 30 with year_days 360).
    month_credit_days: int = 0
    year_days: int = 365

    def __post_init__(self) -> None:
        if not 0 <= self.min_days_per_month <= 31:
            raise ValueError(f"min_days_per_month must be between 0 and 31, got {self.min_days_per_month}")
        if not 0 <= self.month_credit_days <= 31:
            raise ValueError(f"month_credit_days must be between 0 and 31, got {self.month_credit_days}")
        if self.month_credit_days and not self.min_days_per_month:
            raise ValueError(
                f"month_credit_days ({ENV_MONTH_CREDIT_DAYS}) needs min_days_per_month "
                f"({ENV_MIN_DAYS_PER_MONTH}) above 0: otherwise a month with one day on site is a full month"
            )
        if not 1 <= self.year_days <= 3660:
            raise ValueError(f"year_days must be between 1 and 3660, got {self.year_days}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServiceRules:
        """Read the rules from FIELDLOG_SERVICE_* variables; unset or empty means the default."""
        return cls(
            count_travel_days=_env_bool(env, ENV_COUNT_TRAVEL, default=True),
            count_leave_days=_env_bool(env, ENV_COUNT_LEAVE, default=False),
            require_attendance=_env_bool(env, ENV_REQUIRE_ATTENDANCE, default=True),
            min_days_per_month=_env_int(env, ENV_MIN_DAYS_PER_MONTH, default=0, low=0, high=31),
            month_credit_days=_env_int(env, ENV_MONTH_CREDIT_DAYS, default=0, low=0, high=31),
            year_days=_env_int(env, ENV_REQUIRED_DAYS, default=365, low=1, high=3660),
        )


class Stay(msgspec.Struct, kw_only=True, frozen=True):
    """One deployment of the expert; `end` is the actual last day on site (inclusive), None while ongoing."""

    deployment_id: uuid.UUID
    start: date
    end: date | None = None
    # Carried for display only: service is counted from days that have passed, never from plans.
    planned_end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"stay {self.deployment_id} ends ({self.end}) before it starts ({self.start})")


class MonthDays(msgspec.Struct, kw_only=True, frozen=True):
    """One calendar month of service: days meeting the day rules, and what the month contributes."""

    year: int
    month: int
    days: int
    counted_days: int


class ServiceResult(msgspec.Struct, kw_only=True, frozen=True):
    """Cumulative service against the requirement, as of a date."""

    counted_days: int
    by_month: list[MonthDays]
    required_days: int
    remaining_days: int
    met_on: date | None
    projected_on: date | None
    pace_days: int
    pace_window_days: int


def day_counts(mark: str | None, rules: ServiceRules) -> bool:
    """Whether a day inside a stay counts, given its approved attendance status (None: no record)."""
    if mark is None:
        return not rules.require_attendance
    status = _parse_mark(mark)
    if status is DayMark.PRESENT:
        return True
    if status is DayMark.TRAVEL:
        return rules.count_travel_days
    if status is DayMark.LEAVE:
        return rules.count_leave_days
    return False


def merge_spans(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Union of inclusive date ranges as sorted, disjoint ranges; touching ranges join."""
    merged: list[tuple[date, date]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + ONE_DAY:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def iter_days(first: date, last: date) -> Iterator[date]:
    """Every date from first to last inclusive."""
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def service_days(
    stays: Sequence[Stay], marks: Mapping[date, str], rules: ServiceRules, *, as_of: date
) -> ServiceResult:
    """Count service days up to and including as_of, over the union of the stays (never twice a day)."""
    spans = merge_spans((s.start, min(s.end or as_of, as_of)) for s in stays if s.start <= as_of)
    months: dict[tuple[int, int], list[int]] = {}
    credits: list[tuple[date, int]] = []
    total = 0
    met_on: date | None = None
    # A day's verdict depends only on its mark: decide each distinct mark once, not once per day.
    verdict = {mark: day_counts(mark, rules) for mark in {*marks.values(), None}}
    for first, last in spans:
        for day in iter_days(first, last):
            # Every month a stay touches gets a row, so the evidence table shows empty months too.
            month = months.setdefault((day.year, day.month), [0, 0])
            if not verdict[marks.get(day)]:
                continue
            month[0] += 1
            credit = _credit(month[0], rules)
            if credit:
                month[1] += credit
                total += credit
                credits.append((day, credit))
                if met_on is None and total >= rules.year_days:
                    met_on = day

    remaining = max(rules.year_days - total, 0)
    pace_days = pace_window = 0
    projected_on: date | None = None
    if spans:
        # Pace over the last 90 calendar days, or since the first stay began when that is shorter.
        window_start = max(as_of - timedelta(days=PACE_WINDOW_DAYS - 1), spans[0][0])
        pace_window = (as_of - window_start).days + 1
        pace_days = sum(credit for day, credit in credits if day >= window_start)
        if remaining and pace_days:
            projected_on = as_of + timedelta(days=-(-remaining * pace_window // pace_days))
    return ServiceResult(
        counted_days=total,
        by_month=[MonthDays(year=y, month=m, days=d, counted_days=c) for (y, m), (d, c) in months.items()],
        required_days=rules.year_days,
        remaining_days=remaining,
        met_on=met_on,
        projected_on=projected_on,
        pace_days=pace_days,
        pace_window_days=pace_window,
    )


def _credit(days_in_month: int, rules: ServiceRules) -> int:
    """Days credited when a month reaches `days_in_month` counted days."""
    threshold = max(rules.min_days_per_month, 1)
    if days_in_month < threshold:
        return 0
    if days_in_month == threshold:
        # The month qualifies today: its earlier days (or the whole-month credit) arrive at once.
        return rules.month_credit_days or days_in_month
    return 0 if rules.month_credit_days else 1


def _parse_mark(mark: str) -> DayMark:
    try:
        return DayMark(mark)
    except ValueError:
        allowed = ", ".join(m.value for m in DayMark)
        raise ValueError(f"unknown attendance status {mark!r}; expected one of {allowed}") from None


def _env_bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false (also 1/0, yes/no, on/off), got {env[name]!r}")


def _env_int(env: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number between {low} and {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value
