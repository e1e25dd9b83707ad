"""Strict validation of an entry's `fields` against its activity type in the catalogue."""

from __future__ import annotations

import functools
import math
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import date

from backend.errors import FieldError
from backend.worklog.catalog import TEXT_MAX_LENGTH, FieldSpec, get_type
from backend.worklog.privacy import (
    find_national_id,
    find_pii,
    hash_record_number,
    mask_record_number,
    normalise_record_number,
    pii_message,
)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", re.ASCII)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", re.ASCII)
_RECORD_NUMBER = re.compile(r"[0-9A-Z][0-9A-Z/._]{0,31}", re.ASCII)


class _Invalid(Exception):
    """One field failed; carries the code and the user-facing message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _check_bounds(spec: FieldSpec, value: float) -> None:
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        unit = f" {spec.unit}" if spec.unit else ""
        if low is not None and high is not None:
            bounds = f"between {low:g} and {high:g}{unit}"
        else:
            bounds = f"at least {low:g}{unit}" if low is not None else f"at most {high:g}{unit}"
        raise _Invalid("out_of_range", f"{spec.label_en} must be {bounds}.")


def _check_choice(spec: FieldSpec, value: object) -> str:
    allowed = [c.value for c in spec.choices or []]
    if not isinstance(value, str) or value not in allowed:
        raise _Invalid("invalid_choice", f"{spec.label_en} must be one of: {', '.join(allowed)}.")
    return value


def _clean_value(spec: FieldSpec, value: object, record_key: bytes) -> object:
    """The clean form of one present, non-empty value; raises _Invalid."""
    label = spec.label_en
    # bool is a subclass of int in Python, but `true` is never a count.
    if spec.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid("type", f"{label} must be a whole number (整数).")
        _check_bounds(spec, value)
        return value
    if spec.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _Invalid("type", f"{label} must be a number (数字).")
        _check_bounds(spec, value)
        return float(value)
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise _Invalid("type", f"{label} must be true or false.")
        return value
    if spec.type == "enum":
        return _check_choice(spec, value)
    if spec.type == "multi_enum":
        if not isinstance(value, list):
            raise _Invalid("type", f"{label} must be a list of choices.")
        # A repeated choice carries no meaning, so it is folded rather than refused.
        return list(dict.fromkeys(_check_choice(spec, item) for item in value))
    if not isinstance(value, str):
        raise _Invalid("type", f"{label} must be text.")
    if spec.type == "text":
        if len(value) > (limit := spec.max_length or TEXT_MAX_LENGTH):
            raise _Invalid("too_long", f"{label} may be at most {limit} characters long.")
        if spec.pattern and not re.fullmatch(spec.pattern, value):
            raise _Invalid(
                "invalid_format", f"{label} is not in the expected format. {spec.help_en or ''}".strip()
            )
        if "\x00" in value:
            # PostgreSQL text and jsonb cannot hold a NUL character: refuse it here, not fail on insert.
            raise _Invalid("invalid_characters", f"{label} contains a character that cannot be stored.")
        if kind := find_pii(value):
            raise _Invalid("personal_data", pii_message(kind))
        return value
    if spec.type == "date":
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            day = date.fromisoformat(value)
        except ValueError:
            raise _Invalid("invalid_format", f"{label} must be a date written YYYY-MM-DD.") from None
        if not 1900 <= day.year <= 2100:
            raise _Invalid("out_of_range", f"{label} must be between 1900 and 2100.")
        return day.isoformat()
    if spec.type == "time":
        if not _TIME.fullmatch(value):
            raise _Invalid("invalid_format", f"{label} must be a time written HH:MM (24-hour clock).")
        return value
    if spec.type == "uuid":
        if not _UUID.fullmatch(value):
            raise _Invalid("invalid_format", f"{label} must be an id (UUID).")
        return str(uuid.UUID(value))
    if spec.type == "record_number":
        return _clean_record_number(spec, value, record_key)
    raise AssertionError(f"unhandled field type {spec.type}")  # a catalogue typo, caught by the unit tests


def _clean_record_number(spec: FieldSpec, value: str, record_key: bytes) -> dict[str, str]:
    # Only ID numbers are refused here: many hospitals use 11-digit record numbers that look like mobiles.
    if find_national_id(value):
        raise _Invalid("personal_data", pii_message("national_id"))
    if not _RECORD_NUMBER.fullmatch(normalise_record_number(value)):
        raise _Invalid("invalid_format", f"{spec.label_en} may hold only letters, digits, '/', '.' and '_'.")
    return {"hash": hash_record_number(record_key, value), "masked": mask_record_number(value)}


CrossRule = Callable[[Mapping[str, object], str], list[FieldError]]


def _error(prefix: str, name: str, code: str, message: str) -> FieldError:
    return FieldError(field=f"{prefix}.{name}" if name else prefix, code=code, message=message)


def _count(clean: Mapping[str, object], name: str) -> int:
    value = clean.get(name, 0)
    return value if isinstance(value, int) else 0


def _clinic_patients(clean: Mapping[str, object], prefix: str) -> list[FieldError]:
    total = _count(clean, "patients_first_visit") + _count(clean, "patients_follow_up")
    if total < 1:
        message = "A clinic session needs at least one patient, first visit or follow-up."
        return [_error(prefix, "patients_first_visit", "no_patients", message)]
    message = f"Cannot exceed the {total} patients seen in this session."
    parts = ("difficult_cases", "referred_up", "referred_down")
    return [
        _error(prefix, name, "exceeds_patients", message) for name in parts if _count(clean, name) > total
    ]


def _surgery_roles(clean: Mapping[str, object], prefix: str) -> list[FieldError]:
    if clean.get("role") == "primary" and clean.get("local_surgeon_role") == "primary":
        message = "You and the local surgeon cannot both be the primary surgeon (主刀)."
        return [_error(prefix, "local_surgeon_role", "role_conflict", message)]
    return []


def _attendance_times(clean: Mapping[str, object], prefix: str) -> list[FieldError]:
    check_in, check_out = clean.get("check_in"), clean.get("check_out")
    # Validated "HH:MM" strings compare in time order.
    if isinstance(check_in, str) and isinstance(check_out, str) and check_out <= check_in:
        message = "Check-out must be later than check-in."
        return [_error(prefix, "check_out", "check_out_before_check_in", message)]
    return []


def _management_not_empty(clean: Mapping[str, object], prefix: str) -> list[FieldError]:
    if not clean:
        message = "Record at least one figure or a summary of the management work."
        return [_error(prefix, "", "nothing_recorded", message)]
    return []


# Each rule names the fields it reads and is skipped while any of them has its own error, so one typo
# does not also raise a confusing follow-on error.
CROSS_RULES: dict[str, list[tuple[tuple[str, ...], CrossRule]]] = {
    "clinic": [
        (
            ("patients_first_visit", "patients_follow_up", "difficult_cases", "referred_up", "referred_down"),
            _clinic_patients,
        )
    ],
    "surgery": [(("role", "local_surgeon_role"), _surgery_roles)],
    "attendance": [(("check_in", "check_out"), _attendance_times)],
    "management": [
        (
            ("meetings_chaired", "rules_drafted", "departments_built", "hours", "summary"),
            _management_not_empty,
        )
    ],
}


@functools.cache
def _specs(activity_type: str) -> dict[str, FieldSpec]:
    """The field specs of an activity type by name (the catalogue is fixed for the life of the process)."""
    activity = get_type(activity_type)
    return {spec.name: spec for spec in activity.fields} if activity else {}


def validate_fields(
    activity_type: str, fields: object, *, record_key: bytes, prefix: str = "fields"
) -> tuple[dict[str, object], list[FieldError]]:
    """Check `fields` against the activity type; returns the clean values and every error found.

    The clean dict is only meaningful when the error list is empty. Strings are trimmed, an empty string or
    null in an optional field counts as absent, numbers become floats, dates and times stay ISO strings, and
    record numbers become `{"hash": ..., "masked": ...}` so the raw number is never kept.
    """
    activity = get_type(activity_type)
    if activity is None:
        message = f"Unknown activity type {activity_type!r}."
        return {}, [FieldError(field="activity_type", code="unknown_type", message=message)]
    if not isinstance(fields, dict):
        return {}, [_error(prefix, "", "type", "Fields must be an object of name → value.")]
    specs = _specs(activity_type)
    errors = [_error(prefix, str(key), "unknown_field",
                     f"{activity.label_en} ({activity.label_zh}) has no such field; update the app's form catalogue.")
              for key in fields if key not in specs]
    clean: dict[str, object] = {}
    failed: set[str] = set()
    for name, spec in specs.items():
        value = fields.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value in ("", []):
            if spec.required:
                failed.add(name)
                errors.append(
                    _error(prefix, name, "required", f"{spec.label_en} ({spec.label_zh}) is required.")
                )
            continue
        try:
            clean[name] = _clean_value(spec, value, record_key)
        except _Invalid as invalid:
            failed.add(name)
            errors.append(_error(prefix, name, invalid.code, invalid.message))
    for depends_on, rule in CROSS_RULES.get(activity_type, []):
        if failed.isdisjoint(depends_on):
            errors.extend(rule(clean, prefix))
    return clean, errors
