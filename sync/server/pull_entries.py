"""Entries for a pull in one statement: the row, its lock inputs and its files, straight from asyncpg.

The same view as backend.worklog.views.entry_views (tests/sync/test_pull_entries.py holds them equal), built
for the two hot paths of a pull: a first sync pages through thousands of entries and every incremental pull
loads a few. One prepared statement per page instead of four ORM queries; `fields` and `location` go out as
the JSON text PostgreSQL holds (msgspec.Raw), never decoded and encoded again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from backend.auth.principal import Principal
from backend.worklog.rules import local_today
from backend.worklog.schemas import EntryOut
from backend.worklog.states import EntryStatus, lock_reason
from sync.server.protocol import PullChange

ENTRY_COLUMNS = """
e.id, e.expert_id, e.deployment_id, e.institution_id, e.work_date, e.activity_type, e.fields::text AS fields,
e.start_time, e.end_time, e.duration_minutes, e.note, e.location::text AS location, e.status, e.version,
e.review_comment, e.reviewed_by, e.reviewed_at, e.submitted_at, e.revision_of, e.superseded_by,
e.quarantined, e.device_time, e.created_at, e.updated_at,
EXISTS (SELECT 1 FROM month_closures mc WHERE mc.institution_id = e.institution_id
        AND mc.month = date_trunc('month', e.work_date)::date) AS month_closed,
coalesce(d.actual_end, d.planned_end) AS ends_on, i.timezone,
-- the entry's files and those not yet uploaded completely, read in one pass (most entries have none)
(SELECT coalesce(array_agg(ea.sha256 ORDER BY ea.sha256), '{}') FROM entry_attachments ea
 WHERE ea.entry_id = e.id) AS files,
CASE WHEN EXISTS (SELECT 1 FROM entry_attachments ea WHERE ea.entry_id = e.id) THEN
    ARRAY(SELECT ea.sha256 FROM entry_attachments ea
          LEFT JOIN attachments a ON a.owner_id = e.expert_id AND a.sha256 = ea.sha256
          WHERE ea.entry_id = e.id AND a.status IS DISTINCT FROM 'complete' ORDER BY ea.sha256)
ELSE '{}' END AS missing
"""
# The pull scope: the caller's own entries ($1) and those at hospitals they supervise ($2), live ones only.
# Narrower than the web's entry_scope on purpose: HR and admins do not carry a province on a phone.
ENTRY_SCOPE = "(e.expert_id = $1 OR e.institution_id = ANY($2::uuid[])) AND e.deleted_at IS NULL"
_SELECT = f"""
SELECT {ENTRY_COLUMNS}
FROM entries e
JOIN deployments d ON d.id = e.deployment_id
JOIN institutions i ON i.id = d.recipient_id
WHERE {ENTRY_SCOPE}
"""  # noqa: S608 - built from constants only
_PAGE = _SELECT + " AND e.id > $3 ORDER BY e.id LIMIT $4"
_BY_ID = _SELECT + " AND e.id = ANY($3::uuid[])"
_FIRST = uuid.UUID(int=0)


def _raw(text: str | None) -> msgspec.Raw | None:
    return None if text is None else msgspec.Raw(text.encode())


class Windows:
    """Whether a deployment's editable window is open today, computed once per (end, timezone) in a page."""

    def __init__(self, grace_days: int) -> None:
        self.grace, self.now = timedelta(days=grace_days), datetime.now(UTC)
        self.known: dict[tuple[date, str], bool] = {}

    def open(self, ends_on: date | None, tz: str) -> bool:
        if ends_on is None:
            return True
        key = (ends_on, tz)
        if key not in self.known:
            self.known[key] = local_today(tz, self.now) <= ends_on + self.grace
        return self.known[key]


def entry_change(r: Any, windows: Windows) -> PullChange:
    reason = lock_reason(EntryStatus(r["status"]), month_closed=r["month_closed"],
                         in_window=windows.open(r["ends_on"], r["timezone"]))
    view = EntryOut(
        id=r["id"], expert_id=r["expert_id"], deployment_id=r["deployment_id"], institution_id=r["institution_id"],
        work_date=r["work_date"], activity_type=r["activity_type"], fields=_raw(r["fields"]),  # type: ignore[arg-type]
        start_time=r["start_time"], end_time=r["end_time"], duration_minutes=r["duration_minutes"], note=r["note"],
        location=_raw(r["location"]), attachments=list(r["files"]),  # type: ignore[arg-type]
        missing_attachments=list(r["missing"]), status=r["status"], version=r["version"],
        locked=reason is not None, lock_reason=str(reason) if reason else None,
        review_comment=r["review_comment"], reviewed_by=r["reviewed_by"], reviewed_at=r["reviewed_at"],
        submitted_at=r["submitted_at"], revision_of=r["revision_of"], superseded_by=r["superseded_by"],
        quarantined=r["quarantined"], device_time=r["device_time"], created_at=r["created_at"],
        updated_at=r["updated_at"], deleted=False)
    # The view itself is the data: encoded once, by the response.
    return PullChange(kind="entry", id=str(r["id"]), op="upsert", data=view)  # type: ignore[arg-type]


def scope_args(principal: Principal) -> tuple[uuid.UUID, list[uuid.UUID]]:
    return principal.user_id, sorted(principal.supervised)


async def entry_page(raw: Any, principal: Principal, after: str | None, limit: int,
                     grace_days: int) -> list[PullChange]:
    """Live entries in the caller's pull scope with ids above `after`, in id order (a first-sync page)."""
    rows = await raw.fetch(_PAGE, *scope_args(principal), uuid.UUID(after) if after else _FIRST, limit)
    windows = Windows(grace_days)
    return [entry_change(r, windows) for r in rows]


async def entries_by_id(raw: Any, principal: Principal, ids: Sequence[uuid.UUID],
                        grace_days: int) -> dict[str, PullChange]:
    """The live entries among `ids` that are in the caller's pull scope (the others are deletions to them)."""
    if not ids:
        return {}
    windows = Windows(grace_days)
    return {str(r["id"]): entry_change(r, windows) for r in await raw.fetch(_BY_ID, *scope_args(principal), list(ids))}
