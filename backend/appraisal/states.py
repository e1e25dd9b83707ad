"""The appraisal's periods and state machine; pure (tests/unit/test_appraisal_states.py).

Seed 000 五(三) and seed 001 ("制定考核目标和奖惩措施") make the recipient assess each dispatched expert.
Decisions:
- A stay is appraised at its end, and a long stay once per year of it: periods are consecutive years from
  the start, the last one ending with the stay (its actual end, else its planned end).
- A period opens for the self-assessment OPEN_DAYS_BEFORE_END days before it ends, so an expert can write it
  during the last weeks on site; a stay that has actually ended opens its last period at once.
- Three signatures in order: the expert (self-assessment), a supervisor of the recipient (rating
  优秀 / 合格 / 不合格 with comments), HR of the home hospital (countersignature). Each signature locks what
  was signed: nobody edits an earlier step, and a countersigned appraisal is locked for good.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

import msgspec

from backend.errors import Conflict, FieldError, InvalidInput, Locked
from backend.stats.coverage import add_months

OPEN_DAYS_BEFORE_END = 30
TEXT_MAX = 5000
RATINGS = {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}


class AppraisalState(StrEnum):
    self_assessed = "self_assessed"
    rated = "rated"
    countersigned = "countersigned"


class AppraisalAction(StrEnum):
    self_assess = "self_assess"
    rate = "rate"
    countersign = "countersign"


# The one state each action starts from (None: no appraisal yet) and the state it leaves.
STEPS: dict[AppraisalAction, tuple[AppraisalState | None, AppraisalState]] = {
    AppraisalAction.self_assess: (None, AppraisalState.self_assessed),
    AppraisalAction.rate: (AppraisalState.self_assessed, AppraisalState.rated),
    AppraisalAction.countersign: (AppraisalState.rated, AppraisalState.countersigned),
}


class Period(msgspec.Struct, kw_only=True, frozen=True):
    """One appraisal period of a stay and the day it opens for the self-assessment."""

    start: date
    end: date
    opens_on: date
    final: bool  # the period that ends with the stay


def periods(starts_on: date, ends_on: date, *, ended: bool) -> list[Period]:
    """The stay's appraisal periods: whole years from the start, the last one cut at the stay's end."""
    if ends_on < starts_on:
        raise ValueError(f"stay ends ({ends_on}) before it starts ({starts_on})")
    out: list[Period] = []
    start, years = starts_on, 1
    while True:
        year_end = add_months(starts_on, 12 * years) - timedelta(days=1)
        end = min(year_end, ends_on)
        final = end == ends_on
        opens = end - timedelta(days=OPEN_DAYS_BEFORE_END)
        if final and ended:
            opens = min(opens, ends_on)
        out.append(Period(start=start, end=end, opens_on=max(opens, start), final=final))
        if final:
            return out
        start, years = end + timedelta(days=1), years + 1


def find_period(all_periods: list[Period], start: date) -> Period:
    """The period starting on `start`, or a field error naming the valid starts."""
    for period in all_periods:
        if period.start == start:
            return period
    valid = ", ".join(p.start.isoformat() for p in all_periods)
    raise InvalidInput(errors=[FieldError(field="period_start", code="no_such_period",
                                          message=f"Appraisal periods of this stay start on {valid}.")])


def check_open(period: Period, today: date) -> None:
    """The self-assessment of a period is written from its opening day on."""
    if today < period.opens_on:
        raise InvalidInput(
            f"This period ends on {period.end}; its appraisal opens on {period.opens_on}",
            errors=[FieldError(field="period_start", code="not_open_yet",
                               message=f"本期考核 {period.opens_on} 起开放（期末 {period.end}）。")],
            extra={"reason": "not_open_yet", "opens_on": period.opens_on.isoformat()},
        )


def next_state(current: AppraisalState | None, action: AppraisalAction) -> AppraisalState:
    """The state after `action`, or why it cannot happen now (each signed step is locked)."""
    start, target = STEPS[action]
    if current is start:
        return target
    extra = {"reason": f"{action.value}_not_allowed", "state": current.value if current else None}
    if current is AppraisalState.countersigned:
        raise Locked("A countersigned appraisal is locked", extra=extra)
    if current is None:
        raise Conflict("The expert has not written the self-assessment yet", extra=extra)
    if action is AppraisalAction.countersign:
        raise Conflict("Only a rated appraisal can be countersigned", extra=extra)
    raise Locked(f"This step was already signed (the appraisal is {current.value})", extra=extra)


def check_rating(rating: str) -> str:
    if rating not in RATINGS:
        raise InvalidInput(errors=[FieldError(field="rating", code="invalid_choice",
                                              message="One of excellent (优秀), qualified (合格), unqualified (不合格).")])
    return rating


def check_text(value: str | None, field: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if len(text) > TEXT_MAX:
        raise InvalidInput(errors=[FieldError(field=field, code="too_long", message=f"At most {TEXT_MAX} characters.")])
    if required and not text:
        raise InvalidInput(errors=[FieldError(field=field, code="required", message="This cannot be empty.")])
    return text or None
