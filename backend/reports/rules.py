"""Pure rules of the monthly summary: which month may be summarised, and its state machine (draft → approved).

No database, no framework: tests/unit/test_report_rules.py pins them in milliseconds.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from enum import StrEnum

from backend.errors import Conflict, FieldError, InvalidInput, Locked

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class SummaryState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    returned = "returned"


class SummaryAction(StrEnum):
    save = "save"
    submit = "submit"
    approve = "approve"
    return_ = "return"


# (state, action) -> next state. A missing pair is refused; an approved summary is locked for good.
TRANSITIONS: dict[tuple[SummaryState, SummaryAction], SummaryState] = {
    (SummaryState.draft, SummaryAction.save): SummaryState.draft,
    (SummaryState.returned, SummaryAction.save): SummaryState.returned,
    (SummaryState.draft, SummaryAction.submit): SummaryState.submitted,
    (SummaryState.returned, SummaryAction.submit): SummaryState.submitted,
    (SummaryState.submitted, SummaryAction.approve): SummaryState.approved,
    (SummaryState.submitted, SummaryAction.return_): SummaryState.returned,
}
NARRATIVE_MAX = 5000
COMMENT_MAX = 2000


def next_state(state: SummaryState, action: SummaryAction) -> SummaryState:
    """The state after `action`, or the domain error explaining why it is not allowed now."""
    target = TRANSITIONS.get((state, action))
    if target is not None:
        return target
    extra = {"reason": f"{action.value}_not_allowed", "state": state.value}
    if state is SummaryState.approved:
        raise Locked("An approved summary is locked", extra=extra)
    if action in (SummaryAction.approve, SummaryAction.return_):
        raise Conflict(f"Only a submitted summary can be reviewed; this one is {state.value}", extra=extra)
    raise Conflict(f"A {state.value} summary cannot be changed by its author until it is reviewed", extra=extra)


def parse_month(text: str, field: str = "month") -> date:
    """`YYYY-MM` as the first day of that month; a field error otherwise."""
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidInput(errors=[FieldError(field=field, code="invalid_month",
                                              message="A month as YYYY-MM, from 2000-01 to 2100-12.")])
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def check_month_over(month: date, today: date, field: str = "month") -> None:
    """A summary is written once its month is over (local calendar): refused with the reason otherwise."""
    last = month_end(month)
    if last >= today:
        first_day = date.fromordinal(last.toordinal() + 1)
        raise InvalidInput(
            f"{month:%Y-%m} is not over yet; its summary can be written from {first_day.isoformat()}",
            errors=[FieldError(field=field, code="month_not_over",
                               message=f"{month:%Y-%m} 尚未结束，{first_day.isoformat()} 起可写本月小结。")],
            extra={"reason": "month_not_over", "available_from": first_day.isoformat()},
        )


def check_text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    """Free text trimmed, within its limit (and not empty when required)."""
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(errors=[FieldError(field=field, code="too_long",
                                              message=f"At most {limit} characters.")])
    if required and not value:
        raise InvalidInput(errors=[FieldError(field=field, code="required", message="This cannot be empty.")])
    return value
