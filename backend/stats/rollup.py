"""Roll-ups of approved work, kept exact in the same transaction as each approval (docs/statistics.md §6).

Review calls `apply_entry` with +1 on approve, -1 on unapprove, and -1 (original) / +1 (revision) when an
approved revision supersedes its original. Each call is a handful of set-based statements on primary
keys: no scan, no read-modify-write in Python, so concurrent approvals of the same expert and month add
up correctly under row locks taken by the upserts. A batch of approvals calls `add_entries` once instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Entry
from backend.stats.metrics import attendance_status, metrics_of, month_of, trainee_of

_UPSERT_METRICS = text(
    """
    INSERT INTO stat_rollups AS r (expert_id, deployment_id, month, metric, institution_id, value, entries)
    SELECT :expert_id, :deployment_id, :month, m.metric, :institution_id, m.value * :sign, :sign
    FROM unnest(CAST(:metrics AS text[]), CAST(:values AS numeric[])) AS m(metric, value)
    ON CONFLICT (expert_id, deployment_id, month, metric)
    DO UPDATE SET value = r.value + excluded.value, entries = r.entries + excluded.entries
    """
)
_DROP_EMPTY_METRICS = text(
    "DELETE FROM stat_rollups WHERE expert_id = :expert_id AND deployment_id = :deployment_id "
    "AND month = :month AND entries = 0"
)
_UPSERT_TRAINEE = text(
    """
    INSERT INTO stat_trainees AS t (expert_id, deployment_id, month, trainee_id, institution_id, entries)
    VALUES (:expert_id, :deployment_id, :month, :trainee_id, :institution_id, :sign)
    ON CONFLICT (expert_id, deployment_id, month, trainee_id) DO UPDATE SET entries = t.entries + excluded.entries
    """
)
_DROP_EMPTY_TRAINEE = text(
    "DELETE FROM stat_trainees WHERE expert_id = :expert_id AND deployment_id = :deployment_id "
    "AND month = :month AND trainee_id = :trainee_id AND entries = 0"
)
_UPSERT_DAY = text(
    """
    INSERT INTO stat_days AS d (expert_id, work_date, deployment_id, status, entries)
    VALUES (:expert_id, :work_date, :deployment_id, :status, :sign)
    ON CONFLICT (expert_id, work_date, deployment_id, status) DO UPDATE SET entries = d.entries + excluded.entries
    """
)
_DROP_EMPTY_DAY = text(
    "DELETE FROM stat_days WHERE expert_id = :expert_id AND work_date = :work_date "
    "AND deployment_id = :deployment_id AND status = :status AND entries = 0"
)


async def apply_entry(session: AsyncSession, entry: Entry, sign: int) -> None:
    """Add (sign=+1) or remove (sign=-1) an approved entry's figures to/from the roll-ups.

    Called by review in the same transaction as approve, unapprove and a revision superseding an original.
    The entry's status is not looked at: the caller decides when an entry starts or stops counting.
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign}")
    fields: dict[str, Any] = entry.fields or {}
    keys = {
        "expert_id": entry.expert_id,
        "deployment_id": entry.deployment_id,
        "month": month_of(entry.work_date),
        "sign": sign,
    }
    metrics = metrics_of(entry.activity_type, fields, entry.duration_minutes)
    await session.execute(
        _UPSERT_METRICS,
        {**keys, "institution_id": entry.institution_id, "metrics": list(metrics), "values": list(metrics.values())},
    )
    if sign < 0:
        await session.execute(_DROP_EMPTY_METRICS, {k: keys[k] for k in ("expert_id", "deployment_id", "month")})

    trainee = trainee_of(entry.activity_type, fields)
    if trainee is not None:
        row = {"expert_id": entry.expert_id, "deployment_id": entry.deployment_id, "month": keys["month"],
               "trainee_id": trainee}
        await session.execute(_UPSERT_TRAINEE, {**row, "institution_id": entry.institution_id, "sign": sign})
        if sign < 0:
            await session.execute(_DROP_EMPTY_TRAINEE, row)

    status = attendance_status(entry.activity_type, fields)
    if status is not None:
        day = {"expert_id": entry.expert_id, "work_date": entry.work_date, "deployment_id": entry.deployment_id,
               "status": status}
        await session.execute(_UPSERT_DAY, {**day, "sign": sign})
        if sign < 0:
            await session.execute(_DROP_EMPTY_DAY, day)


_ADD_METRICS = text(
    """
    INSERT INTO stat_rollups AS r (expert_id, deployment_id, month, metric, institution_id, value, entries)
    SELECT * FROM unnest(CAST(:experts AS uuid[]), CAST(:deployments AS uuid[]), CAST(:months AS date[]),
                         CAST(:metrics AS text[]), CAST(:institutions AS uuid[]), CAST(:values AS numeric[]),
                         CAST(:counts AS bigint[]))
    ON CONFLICT (expert_id, deployment_id, month, metric)
    DO UPDATE SET value = r.value + excluded.value, entries = r.entries + excluded.entries
    """
)
_ADD_TRAINEES = text(
    """
    INSERT INTO stat_trainees AS t (expert_id, deployment_id, month, trainee_id, institution_id, entries)
    SELECT * FROM unnest(CAST(:experts AS uuid[]), CAST(:deployments AS uuid[]), CAST(:months AS date[]),
                         CAST(:trainees AS uuid[]), CAST(:institutions AS uuid[]), CAST(:counts AS bigint[]))
    ON CONFLICT (expert_id, deployment_id, month, trainee_id) DO UPDATE SET entries = t.entries + excluded.entries
    """
)
_ADD_DAYS = text(
    """
    INSERT INTO stat_days AS d (expert_id, work_date, deployment_id, status, entries)
    SELECT * FROM unnest(CAST(:experts AS uuid[]), CAST(:days AS date[]), CAST(:deployments AS uuid[]),
                         CAST(:statuses AS text[]), CAST(:counts AS bigint[]))
    ON CONFLICT (expert_id, work_date, deployment_id, status) DO UPDATE SET entries = d.entries + excluded.entries
    """
)


async def add_entries(session: AsyncSession, entries: Sequence[Entry]) -> None:
    """Add newly approved entries to the roll-ups: the sum of `apply_entry(e, +1)` over them, one statement a table.

    The figures are summed per roll-up row in Python first (one upsert cannot touch a row twice); each entry's
    figures come from the same functions `apply_entry` uses, so the rows end up exactly as one call per entry
    would leave them. Nothing is removed: adding never empties a row.
    """
    metrics: dict[tuple[Any, ...], list[Any]] = {}
    trainees: dict[tuple[Any, ...], list[Any]] = {}
    days: dict[tuple[Any, ...], int] = {}
    for entry in entries:
        fields: dict[str, Any] = entry.fields or {}
        month = month_of(entry.work_date)
        for metric, value in metrics_of(entry.activity_type, fields, entry.duration_minutes).items():
            acc = metrics.setdefault((entry.expert_id, entry.deployment_id, month, metric),
                                     [entry.institution_id, Decimal(0), 0])
            acc[1] += value
            acc[2] += 1
        trainee = trainee_of(entry.activity_type, fields)
        if trainee is not None:
            counted = trainees.setdefault((entry.expert_id, entry.deployment_id, month, trainee),
                                          [entry.institution_id, 0])
            counted[1] += 1
        status = attendance_status(entry.activity_type, fields)
        if status is not None:
            key = (entry.expert_id, entry.work_date, entry.deployment_id, status)
            days[key] = days.get(key, 0) + 1
    # Rows in key order, so two batches touching the same rows lock them in the same order.
    if metrics:
        keys = sorted(metrics)
        accs = [metrics[k] for k in keys]
        await session.execute(_ADD_METRICS, {
            "experts": [k[0] for k in keys], "deployments": [k[1] for k in keys], "months": [k[2] for k in keys],
            "metrics": [k[3] for k in keys], "institutions": [a[0] for a in accs], "values": [a[1] for a in accs],
            "counts": [a[2] for a in accs]})
    if trainees:
        keys = sorted(trainees)
        accs = [trainees[k] for k in keys]
        await session.execute(_ADD_TRAINEES, {
            "experts": [k[0] for k in keys], "deployments": [k[1] for k in keys], "months": [k[2] for k in keys],
            "trainees": [k[3] for k in keys], "institutions": [a[0] for a in accs], "counts": [a[1] for a in accs]})
    if days:
        keys = sorted(days)
        await session.execute(_ADD_DAYS, {
            "experts": [k[0] for k in keys], "days": [k[1] for k in keys], "deployments": [k[2] for k in keys],
            "statuses": [k[3] for k in keys], "counts": [days[k] for k in keys]})
