"""WorkloadFigures of entries that do not count yet (pending review), with the definitions the roll-ups use; pure.

Approved figures come from SQL over the counted entries (backend.documents.queries). Pending ones are a few
dozen entries of one expert's month, so they are folded here with `backend.stats.metrics.metrics_of`,
the single definition of what an entry adds, and shown beside the approved ones, never added to them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from backend.documents.content import TypeCount, WorkloadFigures, type_label
from backend.stats.metrics import (
    ATTENDEES,
    NEW_TECHNIQUES,
    PATIENTS,
    PEOPLE_SERVED,
    TEACHING_HOURS,
    metrics_of,
    trainee_of,
)

_DAYS = {"days:present": "on_site_days", "days:travel": "travel_days", "days:leave": "leave_days",
         "days:off": "off_days"}
_SUMS = {PATIENTS: "patients", ATTENDEES: "attendees", PEOPLE_SERVED: "people_served",
         NEW_TECHNIQUES: "new_techniques"}


def figures_of(entries: Iterable[tuple[str, Mapping[str, Any], int | None]]) -> WorkloadFigures:
    """WorkloadFigures of (activity_type, fields, duration_minutes) entries, as the evidence document defines them."""
    sums: Counter[str] = Counter()
    hours = Decimal(0)
    trainees: set[uuid.UUID] = set()
    count = surgeries = 0
    for activity_type, fields, minutes in entries:
        count += 1
        surgeries += activity_type == "surgery"
        for metric, value in metrics_of(activity_type, fields, minutes).items():
            if metric in _DAYS:
                sums[_DAYS[metric]] += int(value)
            elif metric in _SUMS:
                sums[_SUMS[metric]] += int(value)
            elif metric == TEACHING_HOURS:
                hours += value
        trainee = trainee_of(activity_type, fields)
        if trainee is not None:
            trainees.add(trainee)
    return WorkloadFigures(entries=count, surgeries=surgeries, teaching_hours=float(hours), trainees=len(trainees),
                   **{name: sums[name] for name in (*_DAYS.values(), *_SUMS.values())})


def type_counts(activity_types: Iterable[str]) -> list[TypeCount]:
    """Entries per activity type, in type order."""
    counts = Counter(activity_types)
    return [TypeCount(activity_type=t, label=type_label(t), count=n) for t, n in sorted(counts.items())]
