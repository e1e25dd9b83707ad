"""The back office's hard rules as pure functions: no database, no framework, unit-tested in milliseconds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from zoneinfo import available_timezones

from backend.errors import FieldError

SUPPORTING = "supporting_hospital"

# National policy (seed 000, 工作任务(五)): ≥ 5 staff (3 for a TCM hospital), one of them president or
# vice-president, each ≥ 6 continuous months, ≥ 3 backbone trainees a year, someone on site all year.
NATIONAL_TARGETS = {
    "min_staff": 5,
    "min_leaders": 1,
    "min_continuous_months": 6,
    "min_trainees": 3,
    "min_new_techniques": 0,
    "full_year_coverage": True,
}
TCM_MIN_STAFF = 3


def default_targets(recipient_is_tcm: bool) -> dict[str, int | bool]:
    """The national minimum targets for a recipient."""
    targets: dict[str, int | bool] = dict(NATIONAL_TARGETS)
    if recipient_is_tcm:
        targets["min_staff"] = TCM_MIN_STAFF
    return targets


def merge_targets(given: dict[str, int | bool | None], recipient_is_tcm: bool) -> dict[str, int | bool]:
    """Given targets over the national defaults (a None or missing value takes the default)."""
    merged = default_targets(recipient_is_tcm)
    merged.update({k: v for k, v in given.items() if v is not None and k in merged})
    return merged


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_error(name: str, field: str = "timezone") -> FieldError | None:
    """An IANA zone name such as Asia/Shanghai or Asia/Urumqi, or an error."""
    if name in _zones():
        return None
    return FieldError(field=field, code="invalid_timezone", message=f"{name!r} is not an IANA time zone")


def period_errors(starts_on: date, ends_on: date | None, *, end_field: str = "ends_on") -> list[FieldError]:
    if ends_on is not None and ends_on < starts_on:
        return [FieldError(field=end_field, code="before_start", message="The end is before the start")]
    return []


def party_errors(supporting_kind: str | None, recipient_kind: str | None) -> list[FieldError]:
    """An agreement runs from a supporting hospital to a recipient that is not one."""
    errors: list[FieldError] = []
    if supporting_kind is None:
        errors.append(FieldError(field="supporting_id", code="not_found", message="No such institution"))
    elif supporting_kind != SUPPORTING:
        errors.append(FieldError(field="supporting_id", code="not_supporting",
                                 message="The supporting party must be a supporting hospital (支援医院)"))
    if recipient_kind is None:
        errors.append(FieldError(field="recipient_id", code="not_found", message="No such institution"))
    elif recipient_kind == SUPPORTING:
        errors.append(FieldError(field="recipient_id", code="not_recipient",
                                 message="The recipient must be a county hospital or a health centre"))
    return errors


def default_status(starts_on: date, today: date) -> str:
    return "planned" if starts_on > today else "active"


def deployment_errors(starts_on: date, planned_end: date | None, actual_end: date | None,
                      status: str) -> list[FieldError]:
    """Dates in order, and an ended stay says when it ended."""
    errors = period_errors(starts_on, planned_end, end_field="planned_end")
    errors += period_errors(starts_on, actual_end, end_field="actual_end")
    if status == "ended" and actual_end is None:
        errors.append(FieldError(field="actual_end", code="required", message="An ended deployment needs its actual end"))
    return errors


@dataclass(frozen=True)
class AgreementFacts:
    id: uuid.UUID
    supporting_id: uuid.UUID
    recipient_id: uuid.UUID
    starts_on: date
    ends_on: date | None


def agreement_link_errors(agreement: AgreementFacts, *, recipient_id: uuid.UUID, home_id: uuid.UUID | None,
                          starts_on: date) -> list[FieldError]:
    """A deployment may count toward an agreement only if it is that agreement's work.

    The recipient must be the agreement's recipient, the expert must come from its supporting hospital
    (otherwise the stay would inflate another hospital's figures), and the stay must start inside its period.
    """
    errors: list[FieldError] = []
    if agreement.recipient_id != recipient_id:
        errors.append(FieldError(field="agreement_id", code="other_recipient",
                                 message="The agreement is with another recipient institution"))
    if home_id != agreement.supporting_id:
        errors.append(FieldError(field="agreement_id", code="other_home",
                                 message="The expert's home institution is not the agreement's supporting hospital"))
    if starts_on < agreement.starts_on or (agreement.ends_on is not None and starts_on > agreement.ends_on):
        errors.append(FieldError(field="starts_on", code="outside_agreement",
                                 message="The deployment starts outside the agreement's period"))
    return errors


def covering(agreements: list[AgreementFacts], *, recipient_id: uuid.UUID, home_id: uuid.UUID | None,
             starts_on: date) -> AgreementFacts | None:
    """The single agreement a stay belongs to when none was named, or None when there is none or several."""
    fits = [a for a in agreements
            if not agreement_link_errors(a, recipient_id=recipient_id, home_id=home_id, starts_on=starts_on)]
    return fits[0] if len(fits) == 1 else None


def clamp_page(limit: int, offset: int) -> tuple[int, int]:
    return max(1, min(limit, 200)), max(0, offset)
