"""Roll-ups of approved work, kept exact in the same transaction as each approval (docs/statistics.md §6).

Review calls `apply_entry` with +1 on approve, -1 on unapprove, and -1 (original) / +1 (revision) when an
approved revision supersedes its original. Each call is a handful of set-based statements on primary
keys: no scan, no read-modify-write in Python, so concurrent approvals of the same expert and month add
up correctly under row locks taken by the upserts.
"""

from __future__ import annotations

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
