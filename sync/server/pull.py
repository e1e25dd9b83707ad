"""GET /sync/pull: every change in the caller's scope since the cursor, in pages, gap-free.

A first sync (no cursor) fixes a target snapshot T and pages through the caller's deployments, entries and
rejected mutations; once done the phone holds everything visible in T. From then on each window runs from
the previous snapshot to a new one, reading the per-user feed: a feed row belongs to the window iff its
writing transaction is visible in the target and not in the previous snapshot. A transaction that took its
id early and committed late is invisible in the snapshot taken before its commit, so the next window
delivers it — ordering by commit time or by id alone would skip it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.metrics.series import record_pull, record_reset
from backend.settings import Settings
from backend.worklog.catalog import CATALOG_VERSION, catalog_etag
from sync.server import records
from sync.server.cursor import Cursor, CursorError, decode_cursor, encode_cursor, snapshot_bounds
from sync.server.protocol import PROTOCOL, PullChange, PullResponse
from sync.server.pull_entries import entries_by_id, entry_page

PULL_PAGE_MAX = 500
FIRST_SYNC_PHASES = ("deployments", "entries", "mutations")

_NOW = text("SELECT pg_current_snapshot()::text AS snap, h.min_xid AS horizon, h.epoch FROM sync_horizon h WHERE h.id = 1")
# The caller's own feed rows in the window (visible in the target snapshot, not in the previous one).
_OWN_ROWS = """
SELECT kind, record_id, xid, op FROM sync_feed
WHERE user_id = :user AND xid >= :prev_xmin AND xid < :target_xmax
  AND pg_visible_in_snapshot(xid::text::xid8, CAST(CAST(:target AS text) AS pg_snapshot))
  AND NOT pg_visible_in_snapshot(xid::text::xid8, CAST(CAST(:prev AS text) AS pg_snapshot))
  AND (xid, kind, record_id) > (:a_xid, :a_kind, :a_id)
"""
# A supervisor also holds the entries at the hospitals they supervise: those changes sit in their experts'
# feed rows, found by transaction window (index on kind, xid) and joined to the entry's hospital. A row may
# come from both parts (a supervisor's own entry at a hospital they supervise); UNION keeps it once.
_SUPERVISED_ROWS = """
UNION
SELECT g.kind, g.record_id, g.xid, g.op FROM sync_feed g
JOIN entries e ON e.id = CASE WHEN g.kind = 'entry' THEN CAST(g.record_id AS uuid) END  -- only entry ids are uuids
WHERE g.kind = 'entry' AND g.xid >= :prev_xmin AND g.xid < :target_xmax
  AND e.institution_id = ANY(CAST(:supervised AS uuid[]))
  AND pg_visible_in_snapshot(g.xid::text::xid8, CAST(CAST(:target AS text) AS pg_snapshot))
  AND NOT pg_visible_in_snapshot(g.xid::text::xid8, CAST(CAST(:prev AS text) AS pg_snapshot))
  AND (g.xid, g.kind, g.record_id) > (:a_xid, :a_kind, :a_id)
"""
_PAGE = "ORDER BY xid, kind, record_id LIMIT :limit"
_WINDOW = text(_OWN_ROWS + _PAGE)
_SUPERVISOR_WINDOW = text(_OWN_ROWS + _SUPERVISED_ROWS + _PAGE)


class _Reset(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check(cursor: Cursor, now_snapshot: str, horizon: int, epoch: int) -> None:
    """Refuse a cursor whose snapshots are malformed, older than the tombstone horizon, or from the future, or
    one issued before the database was restored (its snapshots are of another server's history)."""
    if cursor.epoch != epoch:
        raise _Reset("cursor_unknown")
    _, now_xmax = snapshot_bounds(now_snapshot)
    for snap in (cursor.prev, cursor.target):
        if snap is None:
            continue
        try:
            xmin, xmax = snapshot_bounds(snap)
        except ValueError:
            raise _Reset("cursor_invalid") from None
        if xmin < horizon:
            raise _Reset("cursor_too_old")  # tombstones it would need were purged
        if xmax > now_xmax:
            raise _Reset("cursor_unknown")  # from another (or restored) database
    if cursor.prev is None and cursor.phase not in FIRST_SYNC_PHASES:
        raise _Reset("cursor_invalid")


async def _first_sync_page(session: AsyncSession, principal: Principal, cursor: Cursor, room: int,
                           grace: int) -> list[PullChange]:
    after = cursor.after[0] if cursor.after else None
    if cursor.phase == "deployments":
        found = await records.deployment_changes(session, principal, None, grace, after=after, limit=room)
    elif cursor.phase == "entries":
        return await entry_page(session, principal, after, room, grace)
    else:
        found = await records.mutation_changes(session, principal, None, after=after, limit=room)
    return list(found.values())


async def _window_page(session: AsyncSession, principal: Principal, cursor: Cursor, room: int,
                       grace: int) -> list[tuple[list[str], PullChange]]:
    assert cursor.prev is not None
    assert cursor.target is not None
    a = cursor.after or ["-1", "", ""]
    query, extra = _WINDOW, {}
    if principal.supervised:
        query, extra = _SUPERVISOR_WINDOW, {"supervised": sorted(principal.supervised)}
    rows = (await session.execute(query, {
        **extra, "user": principal.user_id, "prev_xmin": snapshot_bounds(cursor.prev)[0],
        "target_xmax": snapshot_bounds(cursor.target)[1], "target": cursor.target, "prev": cursor.prev,
        "a_xid": int(a[0]), "a_kind": a[1], "a_id": a[2], "limit": room,
    })).all()
    by_kind: dict[str, list[str]] = {}
    for r in rows:
        if r.op == "upsert":
            by_kind.setdefault(r.kind, []).append(r.record_id)
    loaded: dict[tuple[str, str], PullChange] = {}
    entry_ids = [uuid.UUID(i) for i in by_kind.get("entry", [])]
    dep_ids = [uuid.UUID(i) for i in by_kind.get("deployment", [])]
    for rid, change in (await entries_by_id(session, principal, entry_ids, grace)).items():
        loaded["entry", rid] = change
    for rid, change in (await records.deployment_changes(session, principal, dep_ids, grace)).items():
        loaded["deployment", rid] = change
    for rid, change in (await records.mutation_changes(session, principal, by_kind.get("mutation", []))).items():
        loaded["mutation", rid] = change
    changes = []
    for r in rows:
        change = loaded.get((r.kind, r.record_id))
        if change is None and r.kind not in ("entry", "deployment", "mutation"):
            change = PullChange(kind=r.kind, id=r.record_id, op=r.op)  # a kind this server version cannot load
        # Deleted, or no longer in the caller's scope: either way the phone must drop it.
        changes.append(([str(r.xid), r.kind, r.record_id],
                        change or PullChange(kind=r.kind, id=r.record_id, op="delete")))
    return changes


def _reset(request_id: str, reason: str, now: datetime) -> PullResponse:
    record_reset(reason)
    return PullResponse(protocol=PROTOCOL, request_id=request_id, changes=[], cursor="", has_more=False, reset=True,
                        reset_reason=reason, catalog_version=CATALOG_VERSION, catalog_etag=catalog_etag(),
                        server_time=now)


async def pull(session: AsyncSession, principal: Principal, raw_cursor: str | None, limit: int, settings: Settings,
               request_id: str) -> PullResponse:
    """One page of changes; `reset` when the cursor cannot be continued (push first, then pull from scratch)."""
    now = datetime.now(UTC)
    current = (await session.execute(_NOW)).one()
    secret = settings.signing_key
    if raw_cursor:
        try:
            cursor = decode_cursor(raw_cursor, secret, principal.user_id)
            _check(cursor, current.snap, current.horizon, current.epoch)
        except CursorError:
            return _reset(request_id, "cursor_invalid", now)
        except _Reset as reset:
            return _reset(request_id, reset.reason, now)
    else:
        cursor = Cursor(user=principal.user_id, target=current.snap, phase=FIRST_SYNC_PHASES[0], epoch=current.epoch)
    first = cursor.prev is None
    changes: list[PullChange] = []
    etag = catalog_etag()
    if cursor.catalog != etag:
        changes.append(PullChange(kind="catalog", id="catalog", op="upsert",
                                  data={"version": CATALOG_VERSION, "etag": etag}))
        cursor.catalog = etag
    grace = settings.entry_grace_days
    has_more = False
    while True:
        room = limit - len(changes)
        if room <= 0:
            has_more = True
            break
        if cursor.prev is None:  # first sync: scan the scope, phase by phase
            page = await _first_sync_page(session, principal, cursor, room + 1, grace)
            if len(page) > room:
                changes += page[:room]
                cursor.after = [changes[-1].id]
                has_more = True
                break
            changes += page
            nxt = FIRST_SYNC_PHASES.index(cursor.phase) + 1
            if nxt < len(FIRST_SYNC_PHASES):
                cursor.phase, cursor.after = FIRST_SYNC_PHASES[nxt], None
                continue
            cursor.prev, cursor.target, cursor.phase, cursor.after = cursor.target, None, "feed", None
            continue
        if cursor.target is None:
            if cursor.prev == current.snap:
                break
            cursor.target, cursor.after = current.snap, None
        keyed = await _window_page(session, principal, cursor, room + 1, grace)
        if len(keyed) > room:
            changes += [c for _, c in keyed[:room]]
            cursor.after = keyed[room - 1][0]
            has_more = True
            break
        changes += [c for _, c in keyed]
        cursor.prev, cursor.target, cursor.after = cursor.target, None, None
        break
    record_pull("first_sync" if first else "incremental", len(changes))
    return PullResponse(protocol=PROTOCOL, request_id=request_id, changes=changes,
                        cursor=encode_cursor(cursor, secret), has_more=has_more, catalog_version=CATALOG_VERSION,
                        catalog_etag=etag, server_time=now)
