"""Agreement compliance of one recipient and year: who was stationed, gaps, stay lengths, targets."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Mapping, Sequence
from datetime import date

import msgspec

from backend import vocab
from backend.service_time import ONE_DAY, merge_spans

LEADER_POSTS = frozenset(vocab.LEADER_POSTS)
DEFAULT_MIN_CONTINUOUS_MONTHS = 6

# Keys of an agreement's yearly targets, in the order a report lists them: (key, 中文, English).
TARGETS: tuple[tuple[str, str, str], ...] = (
    ("min_staff", "派驻人员(人)", "Experts stationed"),
    ("min_leaders", "派驻院长或副院长(人)", "President or vice-president stationed"),
    ("min_continuous_months", "每人连续驻点月数(最短者)", "Continuous months on site (shortest stay)"),
    ("min_trainees", "培养骨干(人)", "Backbone staff trained"),
    ("min_new_techniques", "新技术新项目(项)", "New techniques introduced"),
    ("full_year_coverage", "全年均有派驻人员驻点", "Someone stationed every day of the year"),
)
_BOOL_TARGETS = frozenset({"full_year_coverage"})


class StayAt(msgspec.Struct, kw_only=True, frozen=True):
    """One expert's stay at the recipient; `end` is the effective last day (see `effective_end`)."""

    expert_id: uuid.UUID
    start: date
    end: date
    post: str
    ongoing: bool = False
    deployment_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(
                f"stay of expert {self.expert_id} ends ({self.end}) before it starts ({self.start})"
            )


class StayMonths(msgspec.Struct, kw_only=True, frozen=True):
    """A stay in the year and the length of the continuous stint it belongs to."""

    expert_id: uuid.UUID
    deployment_id: uuid.UUID | None
    post: str
    start: date
    end: date
    ongoing: bool
    continuous_months: int
    reached: bool


class Gap(msgspec.Struct, kw_only=True, frozen=True):
    """A run of days with nobody stationed."""

    start: date
    end: date
    days: int


class Coverage(msgspec.Struct, kw_only=True, frozen=True):
    """Stationing figures of one recipient (or agreement) for one year, up to as_of."""

    year: int
    complete: bool
    days_in_year: int
    covered_days: int
    uncovered_days: int
    longest_gap_days: int
    longest_gap_start: date | None
    longest_gap_end: date | None
    gaps: list[Gap]
    experts_stationed: int
    leaders_stationed: int
    person_days: int
    min_continuous_months: int
    stays: list[StayMonths]
    experts_reaching_min: int
    shortest_continuous_months: int | None


class TargetRow(msgspec.Struct, kw_only=True, frozen=True):
    """One yearly target of an agreement: required, achieved, met."""

    key: str
    label_zh: str
    label_en: str
    required: int | bool
    achieved: int | bool
    met: bool


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def continuous_months(start: date, end: date) -> int:
    """Whole months from start to end inclusive: 2026-01-15..2026-07-14 is 6, ..2026-07-13 is 5."""
    after = end + ONE_DAY
    months = (after.year - start.year) * 12 + after.month - start.month
    if months > 0 and add_months(start, months) > after:
        months -= 1
    return max(months, 0)


def effective_end(actual_end: date | None, planned_end: date | None, as_of: date) -> date:
    """End to give StayAt: the actual end; else the planned end, or as_of if the stay has overrun it."""
    if actual_end is not None:
        return actual_end
    if planned_end is None:
        return as_of
    return max(planned_end, as_of)


def coverage(
    year: int,
    stays: Sequence[StayAt],
    *,
    as_of: date | None = None,
    min_continuous_months: int = DEFAULT_MIN_CONTINUOUS_MONTHS,
) -> Coverage:
    """Coverage of `year` by the stays, counting days up to as_of when the year is still running."""
    first = date(year, 1, 1)
    last = date(year, 12, 31) if as_of is None else min(date(year, 12, 31), as_of)
    days_in_year = max((last - first).days + 1, 0)

    # A year that has not begun by as_of has no days, even for a stay that spans into it.
    in_year = [s for s in stays if s.start <= last and s.end >= first] if days_in_year else []
    covered = merge_spans((max(s.start, first), min(s.end, last)) for s in in_year)
    gaps = _gaps(covered, first, last)
    longest = max(gaps, key=lambda g: g.days, default=None)  # max keeps the earliest of equal gaps
    covered_days = sum((b - a).days + 1 for a, b in covered)

    experts = {s.expert_id for s in in_year}
    person_days = 0
    for expert in experts:
        own = merge_spans((max(s.start, first), min(s.end, last)) for s in in_year if s.expert_id == expert)
        person_days += sum((b - a).days + 1 for a, b in own)

    # Continuity is per person (seed 000 二(五) "每人连续驻点"): a renewal or transfer that leaves no
    # day between two stays of the same expert is one stint, also across the turn of the year.
    stints = {
        expert: merge_spans((s.start, s.end) for s in stays if s.expert_id == expert) for expert in experts
    }
    rows: list[StayMonths] = []
    counted_stints: dict[tuple[uuid.UUID, date], int] = {}
    for stay in sorted(in_year, key=lambda s: (s.start, s.end, str(s.expert_id))):
        stint = next(span for span in stints[stay.expert_id] if span[0] <= stay.start <= span[1])
        months = continuous_months(*stint)
        counted_stints[(stay.expert_id, stint[0])] = months
        rows.append(
            StayMonths(
                expert_id=stay.expert_id,
                deployment_id=stay.deployment_id,
                post=stay.post,
                start=stay.start,
                end=stay.end,
                ongoing=stay.ongoing,
                continuous_months=months,
                reached=months >= min_continuous_months,
            )
        )

    return Coverage(
        year=year,
        complete=as_of is None or as_of >= date(year, 12, 31),
        days_in_year=days_in_year,
        covered_days=covered_days,
        uncovered_days=days_in_year - covered_days,
        longest_gap_days=longest.days if longest else 0,
        longest_gap_start=longest.start if longest else None,
        longest_gap_end=longest.end if longest else None,
        gaps=gaps,
        experts_stationed=len(experts),
        leaders_stationed=len({s.expert_id for s in in_year if s.post in LEADER_POSTS}),
        person_days=person_days,
        min_continuous_months=min_continuous_months,
        stays=rows,
        experts_reaching_min=len({e for (e, _), m in counted_stints.items() if m >= min_continuous_months}),
        shortest_continuous_months=min(counted_stints.values(), default=None),
    )


def default_targets(*, tcm: bool = False) -> dict[str, int | bool]:
    """The national minimum targets of seed 000 二(二)(五); an agreement may set its own."""
    return {
        "min_staff": 3 if tcm else 5,
        "min_leaders": 1,
        "min_continuous_months": DEFAULT_MIN_CONTINUOUS_MONTHS,
        "min_trainees": 3,
        "full_year_coverage": True,
    }


def achieved_from(cov: Coverage, *, trainees: int, new_techniques: int) -> dict[str, int | bool]:
    """The achieved side of the targets table from a Coverage and the year's approved entries."""
    return {
        "min_staff": cov.experts_stationed,
        "min_leaders": cov.leaders_stationed,
        "min_continuous_months": cov.shortest_continuous_months or 0,
        "min_trainees": trainees,
        "min_new_techniques": new_techniques,
        "full_year_coverage": cov.days_in_year > 0 and cov.uncovered_days == 0,
    }


def targets_table(targets: Mapping[str, int | bool], achieved: Mapping[str, int | bool]) -> list[TargetRow]:
    """One row per target the agreement sets, in report order; a target of 0 or False is always met."""
    known = {key for key, _, _ in TARGETS}
    unknown = sorted(set(targets) - known)
    if unknown:
        raise ValueError(f"unknown target keys {unknown}; expected some of {sorted(known)}")
    rows: list[TargetRow] = []
    for key, label_zh, label_en in TARGETS:
        if key not in targets:
            continue
        if key not in achieved:
            # A silent 0 would report a target as missed because a figure was never computed.
            raise ValueError(f"no achieved value for target {key!r}")
        required, got = targets[key], achieved[key]
        boolean = key in _BOOL_TARGETS
        for side, value in (("target", required), ("achieved", got)):
            # bool is an int in Python, so a count must be checked not to be one.
            valid = isinstance(value, bool) if boolean else type(value) is int and value >= 0
            if not valid:
                kind = "true or false" if boolean else "a whole number >= 0"
                raise ValueError(f"{side} {key!r} must be {kind}, got {value!r}")
        met = (bool(got) or not required) if boolean else got >= required
        rows.append(
            TargetRow(key=key, label_zh=label_zh, label_en=label_en, required=required, achieved=got, met=met)
        )
    return rows


def _gaps(covered: list[tuple[date, date]], first: date, last: date) -> list[Gap]:
    gaps: list[Gap] = []
    cursor = first
    for start, end in covered:
        if start > cursor:
            gaps.append(Gap(start=cursor, end=start - ONE_DAY, days=(start - cursor).days))
        cursor = max(cursor, end + ONE_DAY)
    if cursor <= last:
        gaps.append(Gap(start=cursor, end=last, days=(last - cursor).days + 1))
    return gaps
