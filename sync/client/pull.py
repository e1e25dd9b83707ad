"""Pulling: pages from the saved cursor until `has_more` is false, tombstones, and the reset answer.

Each page and the cursor after it are saved in one local transaction, so a pull cut off by a lost signal
resumes at the next page; a first sync of thousands of records finishes in steps. A pull without a cursor
(the first sync) starts by forgetting what earlier push answers told the phone, since it sends no tombstones. A reset answer (cursor
unknown, corrupt or older than the server's tombstone window) is handled by pushing first, because the
outbox holds the only copy of unsynced work, and then rebuilding every server-derived record from scratch.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from sync.client.push import push_outbox
from sync.client.records import LocalRecord
from sync.client.store import ClientStore
from sync.client.transport import ProtocolError

if TYPE_CHECKING:
    import sqlite3

    from sync.client.connection import Connection

MAX_RESETS = 2


async def pull_all(client: Connection) -> int:
    """Pull until the server has nothing more; returns the number of changes applied."""
    store = client.store
    applied = 0
    resets = 0
    while True:
        params = {"limit": str(client.pull_limit)}
        if cursor := store.get_meta("cursor"):
            params["cursor"] = cursor
        else:
            # A first sync is a snapshot of what the server has now, without tombstones: records this phone
            # got from push answers before it (a create confirmed, then deleted elsewhere) must not outlive it.
            with store.tx() as conn:
                store.wipe_server_data(conn)
        page = await client.call("GET", "/api/v1/sync/pull", params=params, request_id=uuid.uuid4().hex)
        if page.get("reset"):
            resets += 1
            if resets > MAX_RESETS:
                raise ProtocolError(409, {"detail": "the server keeps answering reset", "answer": page})
            client.report.resets += 1
            await push_outbox(client)
            with store.tx() as conn:
                store.wipe_server_data(conn)
            continue
        changes = page.get("changes") or []
        with store.tx() as conn:
            for change in changes:
                apply_change(store, conn, change)
            store.set_meta("cursor", page["cursor"], conn)
            store.set_meta("catalog_version", json.dumps(page.get("catalog_version")), conn)
        applied += len(changes)
        client.report.pulled += len(changes)
        client.report.pages += 1
        if not page.get("has_more"):
            return applied


def apply_change(store: ClientStore, conn: sqlite3.Connection, change: dict[str, Any]) -> None:
    """One change of the feed: entries are rebased under queued local changes; other kinds are copied."""
    kind, record_id, data = change["kind"], str(change["id"]), change.get("data")
    gone = change.get("op") == "delete" or bool(data and data.get("deleted"))
    if kind == "entry":
        store.rebase(conn, record_id, None if gone else data, gone=gone)
    elif gone:
        store.drop_record(conn, kind, record_id)
    else:
        store.put_record(conn, LocalRecord(kind, record_id, data or {}, (data or {}).get("version"), None, "synced",
                                           data))
