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
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.principal import Principal
from backend.auth.service import CALLER_SQL, caller_from_row
from backend.metrics.series import record_pull, record_reset
from backend.outages import database_unavailable
from backend.security.tokens import AccessClaims
from backend.settings import Settings
from backend.worklog.catalog import CATALOG_VERSION, catalog_etag
from sync.server import records
from sync.server.cursor import Cursor, CursorError, decode_cursor, encode_cursor, snapshot_bounds
from sync.server.protocol import PROTOCOL, PullChange, PullResponse
from sync.server.pull_entries import ENTRY_COLUMNS, ENTRY_SCOPE, Windows, entry_change, entry_page, scope_args

PULL_PAGE_MAX = 500
FIRST_SYNC_PHASES = ("deployments", "entries", "mutations")

# Who is calling (exactly the check every authenticated request makes: backend.auth.service) and where the
# database is now, in one round trip.
_NOW = f"""
SELECT pg_current_snapshot()::text AS snap, h.min_xid AS horizon, h.epoch, c.*
FROM sync_horizon h LEFT JOIN LATERAL ({CALLER_SQL}) c ON true
WHERE h.id = 1
"""  # noqa: S608 - built from constants only
# The caller's ($1) own feed rows in the window: visible in the target snapshot ($5), not in the previous one
# ($6), after the keyset ($7, $8, $9) of the last row of the page before.
_OWN_ROWS = """
SELECT kind, record_id, xid, op FROM sync_feed
WHERE user_id = $1 AND xid >= $3 AND xid < $4
  AND pg_visible_in_snapshot(xid::text::xid8, $5::text::pg_snapshot)
  AND NOT pg_visible_in_snapshot(xid::text::xid8, $6::text::pg_snapshot)
  AND (xid, kind, record_id) > ($7::bigint, $8::text, $9::text)
"""
# A supervisor also holds the entries at the hospitals they supervise ($2): those changes sit in their experts'
# feed rows, found by transaction window (index on kind, xid) and joined to the entry's hospital. A row may
# come from both parts (a supervisor's own entry at a hospital they supervise); UNION keeps it once.
_SUPERVISED_ROWS = """
UNION
SELECT g.kind, g.record_id, g.xid, g.op FROM sync_feed g
JOIN entries e ON e.id = CASE WHEN g.kind = 'entry' THEN CAST(g.record_id AS uuid) END  -- only entry ids are uuids
WHERE g.kind = 'entry' AND g.xid >= $3 AND g.xid < $4
  AND e.institution_id = ANY($2::uuid[])
  AND pg_visible_in_snapshot(g.xid::text::xid8, $5::text::pg_snapshot)
  AND NOT pg_visible_in_snapshot(g.xid::text::xid8, $6::text::pg_snapshot)
  AND (g.xid, g.kind, g.record_id) > ($7::bigint, $8::text, $9::text)
"""
# One page of the window and, in the same statement, the entry each entry row names when it is live and in
# the pull scope (pull_entries.py); every other entry row is a tombstone to this caller. The horizon is read
# again in the statement's own snapshot (one row even for an empty page): a purge that committed after the
# first statement checked the cursor has deleted rows this window needed, and the phone must reset.
_WINDOW_PAGE = """
WITH w AS ({rows} ORDER BY xid, kind, record_id LIMIT $10),
page AS (
    SELECT w.kind AS feed_kind, w.record_id AS feed_id, w.xid AS feed_xid, w.op AS feed_op, {columns}
    FROM w
    LEFT JOIN entries e ON w.op = 'upsert' AND e.id = CASE WHEN w.kind = 'entry' THEN CAST(w.record_id AS uuid) END
         AND {scope}
    LEFT JOIN deployments d ON d.id = e.deployment_id
    LEFT JOIN institutions i ON i.id = d.recipient_id
)
SELECT h.min_xid AS horizon_now, page.* FROM sync_horizon h LEFT JOIN page ON true
WHERE h.id = 1
ORDER BY page.feed_xid, page.feed_kind, page.feed_id
"""
_WINDOW = _WINDOW_PAGE.format(rows=_OWN_ROWS, columns=ENTRY_COLUMNS, scope=ENTRY_SCOPE)
_SUPERVISOR_WINDOW = _WINDOW_PAGE.format(rows=_OWN_ROWS + _SUPERVISED_ROWS, columns=ENTRY_COLUMNS, scope=ENTRY_SCOPE)


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


async def _first_sync_page(raw: Any, principal: Principal, cursor: Cursor, room: int,
                           grace: int) -> list[PullChange]:
    after = cursor.after[0] if cursor.after else None
    if cursor.phase == "deployments":
        found = await records.deployment_changes(raw, principal, None, grace, after=after, limit=room)
    elif cursor.phase == "entries":
        return await entry_page(raw, principal, after, room, grace)
    else:
        found = await records.mutation_changes(raw, principal, None, after=after, limit=room)
    return list(found.values())


async def _window_page(raw: Any, principal: Principal, cursor: Cursor, room: int,
                       grace: int) -> list[tuple[list[str], PullChange]]:
    assert cursor.prev is not None
    assert cursor.target is not None
    a = cursor.after or ["-1", "", ""]
    rows = await raw.fetch(_SUPERVISOR_WINDOW if principal.supervised else _WINDOW, *scope_args(principal),
                           snapshot_bounds(cursor.prev)[0], snapshot_bounds(cursor.target)[1], cursor.target,
                           cursor.prev, int(a[0]), a[1], a[2], room)
    if rows and rows[0]["horizon_now"] > snapshot_bounds(cursor.prev)[0]:
        raise _Reset("cursor_too_old")  # purged while this pull ran (see _WINDOW_PAGE)
    rows = [r for r in rows if r["feed_kind"] is not None]
    windows = Windows(grace)
    loaded: dict[tuple[str, str], PullChange] = {}
    others: dict[str, list[str]] = {}
    for r in rows:
        if r["id"] is not None:
            loaded["entry", r["feed_id"]] = entry_change(r, windows)
        elif r["feed_op"] == "upsert" and r["feed_kind"] in ("deployment", "mutation"):
            others.setdefault(r["feed_kind"], []).append(r["feed_id"])
    if "deployment" in others:
        dep_ids = [uuid.UUID(i) for i in others["deployment"]]
        for rid, change in (await records.deployment_changes(raw, principal, dep_ids, grace)).items():
            loaded["deployment", rid] = change
    if "mutation" in others:
        for rid, change in (await records.mutation_changes(raw, principal, others["mutation"])).items():
            loaded["mutation", rid] = change
    changes = []
    for r in rows:
        kind, rid = r["feed_kind"], r["feed_id"]
        change = loaded.get((kind, rid))
        if change is None and kind not in ("entry", "deployment", "mutation"):
            change = PullChange(kind=kind, id=rid, op=r["feed_op"])  # a kind this server version cannot load
        # Deleted, or no longer in the caller's scope: either way the phone must drop it.
        changes.append(([str(r["feed_xid"]), kind, rid], change or PullChange(kind=kind, id=rid, op="delete")))
    return changes


def _reset(request_id: str, reason: str, now: datetime) -> PullResponse:
    record_reset(reason)
    return PullResponse(protocol=PROTOCOL, request_id=request_id, changes=[], cursor="", has_more=False, reset=True,
                        reset_reason=reason, catalog_version=CATALOG_VERSION, catalog_etag=catalog_etag(),
                        server_time=now)


async def pull(engine: AsyncEngine, claims: AccessClaims, raw_cursor: str | None, limit: int, settings: Settings,
               request_id: str) -> PullResponse:
    """One page of changes; `reset` when the cursor cannot be continued (push first, then pull from scratch).

    Runs on the raw connection outside a transaction: a pull only reads, and in a transaction too (READ
    COMMITTED) each statement would read its own snapshot; what makes a window gap-free is the snapshot the
    cursor names, not a transaction. That saves BEGIN and COMMIT, and the session's statements, per pull.
    """
    for attempt in (1, 2):
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            try:
                current = await raw.fetchrow(_NOW, claims.user_id, claims.session_id, claims.device_id)
            except Exception as exc:
                # A pooled connection whose server side was just closed (PostgreSQL restarted, the backend was
                # terminated) fails its first statement; nothing was read yet, so drop it and ask a fresh one.
                if attempt == 2 or database_unavailable(exc) != "connection_lost":
                    raise
                await conn.invalidate()
                continue
            principal, _ = caller_from_row(current, claims)
            return await _pull(raw, principal, current, raw_cursor, limit, settings, request_id)
    raise AssertionError("unreachable")  # the second attempt returns or raises


async def _pull(raw: Any, principal: Principal, current: Any, raw_cursor: str | None, limit: int,
                settings: Settings, request_id: str) -> PullResponse:
    now = datetime.now(UTC)
    secret = settings.signing_key
    if raw_cursor:
        try:
            cursor = decode_cursor(raw_cursor, secret, principal.user_id)
            _check(cursor, current["snap"], current["horizon"], current["epoch"])
        except CursorError:
            return _reset(request_id, "cursor_invalid", now)
        except _Reset as reset:
            return _reset(request_id, reset.reason, now)
    else:
        cursor = Cursor(user=principal.user_id, target=current["snap"], phase=FIRST_SYNC_PHASES[0],
                        epoch=current["epoch"])
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
            page = await _first_sync_page(raw, principal, cursor, room + 1, grace)
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
            if cursor.prev == current["snap"]:
                break
            cursor.target, cursor.after = current["snap"], None
        try:
            keyed = await _window_page(raw, principal, cursor, room + 1, grace)
        except _Reset as reset:
            return _reset(request_id, reset.reason, now)
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
