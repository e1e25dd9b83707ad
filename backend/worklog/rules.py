"""Entry rules that need no database: the work date, times, location and the device's clock."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.errors import FieldError

MAX_DURATION_MINUTES = 24 * 60


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive "now" would silently be read as the server's local time and shift every date check.
        raise ValueError(f"{name} must be timezone-aware")


@functools.lru_cache(maxsize=256)
def local_today(tz_name: str, now_utc: datetime) -> date:
    """Today's calendar date in the given IANA timezone.

    Memoised: a sync batch checks hundreds of entries against one `now` and a few timezones, and the answer is
    a pure function of the two arguments.
    """
    _require_aware(now_utc, "now_utc")
    return now_utc.astimezone(ZoneInfo(tz_name)).date()


def editable_window(
    start: date, planned_end: date | None, actual_end: date | None, grace_days: int
) -> tuple[date, date | None]:
    """The first and last work date an entry may carry; the last is None while the deployment has no end."""
    if grace_days < 0:
        raise ValueError("grace_days must not be negative")
    # An actual end (the expert left early or stayed on) overrides the plan.
    end = actual_end or planned_end
    return start, (end + timedelta(days=grace_days) if end else None)


def check_work_date(
    work_date: date,
    *,
    deployment_start: date,
    deployment_planned_end: date | None,
    deployment_actual_end: date | None,
    grace_days: int,
    tz_name: str,
    now_utc: datetime,
) -> list[FieldError]:
    """Errors on `work_date`: outside the deployment's editable window, or after tomorrow locally."""
    first, last = editable_window(deployment_start, deployment_planned_end, deployment_actual_end, grace_days)
    # Tomorrow is allowed: a phone past midnight in another timezone (or with a fast clock) is a day ahead.
    tomorrow = local_today(tz_name, now_utc) + timedelta(days=1)
    errors: list[FieldError] = []
    if work_date < first:
        message = f"The work date {work_date} is before the deployment started ({first})."
        errors.append(FieldError(field="work_date", code="before_deployment", message=message))
    if last is not None and work_date > last:
        message = f"The work date {work_date} is after the last day this deployment accepts work ({last})."
        errors.append(FieldError(field="work_date", code="after_deployment", message=message))
    if work_date > tomorrow:
        message = f"The work date {work_date} is in the future; log work on or after the day it happens."
        errors.append(FieldError(field="work_date", code="in_future", message=message))
    return errors


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def check_times(
    start_time: time | None, end_time: time | None, duration_minutes: int | None
) -> list[FieldError]:
    """Errors on an entry's optional start time, end time and duration."""
    errors: list[FieldError] = []
    if duration_minutes is not None and not 1 <= duration_minutes <= MAX_DURATION_MINUTES:
        message = f"Duration must be between 1 and {MAX_DURATION_MINUTES} minutes."
        errors.append(FieldError(field="duration_minutes", code="out_of_range", message=message))
    if start_time is None or end_time is None:
        return errors
    span = _seconds(end_time) - _seconds(start_time)
    # An entry is one local day, so the end follows the start on that day; overnight work is logged with a
    # start time and a duration instead.
    if span <= 0:
        message = (
            "End time must be later than start time. For work that ran past midnight, "
            "leave the end time empty and enter the duration."
        )
        errors.append(FieldError(field="end_time", code="end_before_start", message=message))
    elif duration_minutes is not None and duration_minutes * 60 > span:
        message = (
            f"Duration ({duration_minutes} min) is longer than the time from start to end ({span // 60} min)."
        )
        errors.append(FieldError(field="duration_minutes", code="duration_mismatch", message=message))
    return errors


def _coordinate(location: object, name: str) -> object:
    if isinstance(location, Mapping):
        return location.get(name)
    return getattr(location, name, None)


def check_location(location: object | None, consent: bool) -> list[FieldError]:
    """Errors on an entry's location (mapping or object with `lat`, `lon`): consent needed, within range."""
    if location is None:
        return []
    errors: list[FieldError] = []
    if not consent:
        message = (
            "A location may only be recorded after you agree to share it (位置信息需本人同意). "
            "Turn on location consent or remove the location."
        )
        errors.append(FieldError(field="location", code="consent_required", message=message))
    for name, label, limit in (("lat", "Latitude", 90), ("lon", "Longitude", 180)):
        value = _coordinate(location, name)
        if value is None:
            code, message = "required", f"{label} is required."
        elif isinstance(value, bool) or not isinstance(value, int | float):
            code, message = "type", f"{label} must be a number."
        elif not -limit <= value <= limit:  # also refuses NaN
            code, message = "out_of_range", f"{label} must be between -{limit} and {limit}."
        else:
            continue
        errors.append(FieldError(field=f"location.{name}", code=code, message=message))
    return errors


def check_device_time(
    device_time: datetime | None, now_utc: datetime, max_future: timedelta = timedelta(minutes=10)
) -> list[FieldError]:
    """Errors on the device clock a phone reports: recorded, never trusted, refused when far in the future."""
    _require_aware(now_utc, "now_utc")
    if device_time is None:
        return []
    if device_time.tzinfo is None or device_time.utcoffset() is None:
        message = "The device time must include its UTC offset."
        return [FieldError(field="device_time", code="timezone_required", message=message)]
    if device_time - now_utc > max_future:
        message = (
            "The phone's clock is ahead of the server's; set the phone to the correct time and try again."
        )
        return [FieldError(field="device_time", code="device_clock_in_future", message=message)]
    return []


def check_trainee(
    activity_type: str, fields: Mapping[str, object], institution_id: object, trainees: Mapping[object, object]
) -> list[FieldError]:
    """A mentoring entry names a trainee recorded at the entry's own hospital (`trainees`: id → hospital)."""
    if activity_type != "mentoring" or not isinstance(fields.get("trainee_id"), str):
        return []
    import uuid

    trainee_id = uuid.UUID(str(fields["trainee_id"]))
    if trainees.get(trainee_id) != institution_id:
        message = "No such trainee at this hospital; record the trainee (骨干) first, then refer to them."
        return [FieldError(field="fields.trainee_id", code="unknown_trainee", message=message)]
    return []
