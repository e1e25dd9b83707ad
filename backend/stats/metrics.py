"""What one approved entry adds to the roll-ups (docs/statistics.md §2); pure, mirrored in SQL by recompute.

Every function here has a SQL twin in `backend.stats.recompute`; the roll-up check compares the two on
real data, and `tests/unit/test_stats_metrics.py` pins the definitions on hand-made entries.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ONE = Decimal(1)
CENT = Decimal("0.01")
ATTENDANCE_STATUSES = ("present", "travel", "leave", "off")
# The canonical text form only: the SQL twin casts with the same pattern, so both accept the same ids.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID_RE = re.compile(UUID_PATTERN)

# Metric names. `count:<type>`, `minutes:<type>`, `days:<status>` and `surgery:<grade>:<role>` are families.
PATIENTS = "patients"
TEACHING_HOURS = "teaching_hours"
ATTENDEES = "attendees"
PEOPLE_SERVED = "people_served"
NEW_TECHNIQUES = "new_techniques"


def number(fields: Mapping[str, Any], name: str) -> Decimal | None:
    """A numeric field as Decimal rounded to cents (the roll-up's precision), or None when absent or not a number."""
    value = fields.get(name)
    # bool is an int in Python but not a JSON number; the SQL twin checks jsonb_typeof = 'number'.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    # Rounding each entry (not the sum) keeps incremental sums and the recomputed sum identical.
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _sum(fields: Mapping[str, Any], *names: str) -> Decimal:
    return sum((number(fields, n) or Decimal(0) for n in names), Decimal(0))


def metrics_of(activity_type: str, fields: Mapping[str, Any], duration_minutes: int | None) -> dict[str, Decimal]:
    """The metrics one counted entry adds: always `count:<type>`, plus its type's figures.

    A figure the type defines is present even when its field is empty (value 0), so that its `entries`
    count says how many entries of that type the sum covers.
    """
    out: dict[str, Decimal] = {f"count:{activity_type}": ONE}
    if duration_minutes is not None:
        out[f"minutes:{activity_type}"] = Decimal(duration_minutes)
    if activity_type == "clinic":
        out[PATIENTS] = _sum(fields, "patients_first_visit", "patients_follow_up")
    elif activity_type == "emergency":
        # A rescue is at least one patient; the field is optional and only says when there were more.
        out[PATIENTS] = number(fields, "patients") or ONE
    elif activity_type == "surgery":
        grade, role = fields.get("grade"), fields.get("role")
        if isinstance(grade, str) and isinstance(role, str):
            out[f"surgery:{grade}:{role}"] = ONE
    elif activity_type == "lecture":
        out[TEACHING_HOURS] = _sum(fields, "hours")
        out[ATTENDEES] = _sum(fields, "audience_count")
    elif activity_type == "teaching_round":
        out[ATTENDEES] = _sum(fields, "attendees")
    elif activity_type == "free_clinic":
        out[PEOPLE_SERVED] = _sum(fields, "people_served")
    elif activity_type == "new_technique":
        out[NEW_TECHNIQUES] = ONE
    elif activity_type == "attendance":
        status = attendance_status(activity_type, fields)
        if status is not None:
            out[f"days:{status}"] = ONE
    return out


def trainee_of(activity_type: str, fields: Mapping[str, Any]) -> uuid.UUID | None:
    """The trainee a mentoring entry names, or None."""
    value = fields.get("trainee_id")
    if activity_type != "mentoring" or not isinstance(value, str) or not _UUID_RE.match(value):
        return None
    return uuid.UUID(value)


def attendance_status(activity_type: str, fields: Mapping[str, Any]) -> str | None:
    """The day status of an attendance entry (present / travel / leave / off), or None."""
    value = fields.get("status")
    if activity_type != "attendance" or value not in ATTENDANCE_STATUSES:
        return None
    return str(value)


def month_of(day: date) -> date:
    """The first day of the day's month: the roll-ups' period key."""
    return day.replace(day=1)
