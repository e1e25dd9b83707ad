"""When a rule sends: its hour, quiet hours and weekends in the institution's time zone, and its period."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.notifications.channels.base import Message

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """One rule at one institution (defaults below; admins override them per institution)."""

    enabled: bool = True
    threshold_days: int = 3
    send_hour: int = 9
    quiet_start: int | None = None  # quiet from this hour ...
    quiet_end: int | None = None  # ... until this hour (may wrap past midnight, e.g. 22 → 7)
    skip_weekends: bool = True
    timezone: str = "Asia/Shanghai"
    cadence: str = DAILY

    def with_overrides(self, **values: object) -> RuleSettings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]


DEFAULTS: dict[str, RuleSettings] = {
    "expert_silent": RuleSettings(threshold_days=3, send_hour=19),
    "expert_returned": RuleSettings(threshold_days=2, send_hour=9),
    "supervisor_digest": RuleSettings(threshold_days=0, send_hour=8),
    "hr_digest": RuleSettings(threshold_days=0, send_hour=9, cadence=WEEKLY),
    "admin_months": RuleSettings(threshold_days=0, send_hour=10, cadence=MONTHLY, skip_weekends=False),
}


@dataclass(frozen=True, slots=True)
class Notice:
    """One message a rule wants sent to one person for one period (the delivery log makes it once)."""

    rule: str
    institution_id: uuid.UUID
    recipient_id: uuid.UUID
    period: str
    message: Message
    digest: bool = True  # False: a returned-work notice, which a user cannot opt out of

    @property
    def idempotency_key(self) -> str:
        return f"{self.rule}:{self.institution_id}:{self.recipient_id}:{self.period}"


def local(now: datetime, settings: RuleSettings) -> datetime:
    return now.astimezone(ZoneInfo(settings.timezone))


def quiet(hour: int, settings: RuleSettings) -> bool:
    start, end = settings.quiet_start, settings.quiet_end
    if start is None or end is None or start == end:
        return False
    return start <= hour < end if start < end else hour >= start or hour < end


def due(settings: RuleSettings, now: datetime) -> bool:
    """Whether the rule sends at `now`: enabled, at or after its hour on its day, not in quiet hours or a weekend.

    Sending "at or after" the hour (not only in it) lets a tick missed while no worker ran catch up later the
    same day (week, month); the period key keeps it to one message per period.
    """
    if not settings.enabled:
        return False
    at = local(now, settings)
    if settings.skip_weekends and at.weekday() >= 5:
        return False
    if quiet(at.hour, settings):
        return False
    first_day = (settings.cadence == DAILY or (settings.cadence == WEEKLY and at.weekday() == 0)
                 or (settings.cadence == MONTHLY and at.day == 1))
    return at.hour >= settings.send_hour or not first_day


def period_of(settings: RuleSettings, now: datetime) -> str:
    at = local(now, settings)
    if settings.cadence == WEEKLY:
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    if settings.cadence == MONTHLY:
        return f"{at:%Y-%m}"
    return f"{at:%Y-%m-%d}"


def working_days_between(first: date, last: date) -> int:
    """Monday–Friday days after `first` up to and including `last` (no holiday calendar)."""
    days, day = 0, first + timedelta(days=1)
    while day <= last:
        days += day.weekday() < 5
        day += timedelta(days=1)
    return days
