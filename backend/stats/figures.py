"""The workload figures (docs/statistics.md §2) built from summed roll-up metrics; pure."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from backend.stats.metrics import ATTENDEES, NEW_TECHNIQUES, PATIENTS, PEOPLE_SERVED, TEACHING_HOURS

SURGERY_GRADES = ("grade_1", "grade_2", "grade_3", "grade_4")
SURGERY_ROLES = ("primary", "first_assistant", "supervising", "demonstrating")


class SurgeryCell(msgspec.Struct, kw_only=True, frozen=True):
    """Surgeries of one grade in one role."""

    grade: str
    role: str
    count: int


class Figures(msgspec.Struct, kw_only=True):
    """Approved workload of a period (or a month): days by attendance status, counts and sums."""

    on_site_days: int = 0
    travel_days: int = 0
    leave_days: int = 0
    off_days: int = 0
    # Only for one expert: days inside a stay (up to as_of) with no approved attendance.
    unrecorded_days: int | None = None
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    patients: int = 0
    surgeries: int = 0
    surgeries_by_grade_role: list[SurgeryCell] = msgspec.field(default_factory=list)
    teaching_hours: float = 0.0
    attendees: int = 0
    people_served: int = 0
    new_techniques: int = 0
    trainees: int = 0


class Pending(msgspec.Struct, kw_only=True, frozen=True):
    """Submitted entries waiting for review: shown next to the approved figures, never added to them."""

    entries: int
    by_type: dict[str, int]


_DAYS = {"days:present": "on_site_days", "days:travel": "travel_days", "days:leave": "leave_days",
         "days:off": "off_days"}
_SUMS = {PATIENTS: "patients", ATTENDEES: "attendees", PEOPLE_SERVED: "people_served",
         NEW_TECHNIQUES: "new_techniques"}


def figures_from(metrics: Iterable[tuple[str, Decimal]], *, trainees: int = 0) -> Figures:
    """Figures from (metric, summed value) pairs; a metric appearing twice is added up."""
    fig = Figures(trainees=trainees)
    cells: dict[tuple[str, str], int] = {}
    hours = Decimal(0)
    for metric, value in metrics:
        if metric.startswith("count:"):
            kind = metric.removeprefix("count:")
            fig.counts[kind] = fig.counts.get(kind, 0) + int(value)
        elif metric in _DAYS:
            setattr(fig, _DAYS[metric], getattr(fig, _DAYS[metric]) + int(value))
        elif metric in _SUMS:
            setattr(fig, _SUMS[metric], getattr(fig, _SUMS[metric]) + int(value))
        elif metric == TEACHING_HOURS:
            hours += value
        elif metric.startswith("surgery:"):
            _, grade, role = metric.split(":", 2)
            cells[(grade, role)] = cells.get((grade, role), 0) + int(value)
    fig.teaching_hours = float(hours)
    fig.surgeries = sum(cells.values())
    fig.surgeries_by_grade_role = [SurgeryCell(grade=g, role=r, count=n) for (g, r), n in sorted(cells.items(), key=_cell_order)]
    fig.counts = dict(sorted(fig.counts.items()))
    return fig


def _cell_order(item: tuple[tuple[str, str], int]) -> tuple[int, int, str, str]:
    (grade, role), _ = item
    g = SURGERY_GRADES.index(grade) if grade in SURGERY_GRADES else len(SURGERY_GRADES)
    r = SURGERY_ROLES.index(role) if role in SURGERY_ROLES else len(SURGERY_ROLES)
    return g, r, grade, role
