"""The reference sync client: what a phone does, step by step, to sync with fieldlog without losing work.

It is the executable description of the protocol in `sync/server/protocol.py` for the phone team, and the
phone in the tests and the chaos run. The rules, and why:

1. Work is saved locally first. Each change gets the next mutation number and goes to the outbox in the
   same local transaction (`ClientStore.enqueue`), so a crash never loses a change that the user saw saved.
2. `sync()` pushes before it pulls: the server then answers the pull with our own changes merged, and a
   reset (below) never throws away work that only the phone has.
3. A push is judged by its envelope, not by its status code: a 200 whose body does not echo our request id
   and protocol (a hotel Wi-Fi portal) is a failed attempt, and the outbox stays as it was
   (`sync.client.connection`).
4. Anything that is not a valid answer (no network, a timeout, a dropped reply, a 5xx) leaves the outbox
   untouched; the next attempt sends the same numbers and the server answers them from its stored answers.
5. Every result kind has its own handling; none blocks the queue (see `sync.client.push.settle`).
6. A 401 `token_expired` is answered by refreshing and replaying the very same bytes; the server accepts
   mutations written before the token expired.
7. The pull cursor is saved with each page, so an interrupted first sync resumes page by page.
"""

from __future__ import annotations

import uuid
from typing import Any

from sync.client.connection import Connection, SyncReport
from sync.client.pull import pull_all
from sync.client.push import push_outbox, send_batch
from sync.client.records import LocalRecord, OutboxItem, apply_local


class SyncClient(Connection):
    """One phone: local edits that work offline, and `sync()` = push the outbox, then pull pages."""

    # -- local edits (work offline) ---------------------------------------------------------------------

    def create_entry(self, content: dict[str, Any]) -> str:
        """Save a new entry with a phone-chosen UUID (its id on the server too) and queue it."""
        record_id = str(content.get("id") or uuid.uuid4())
        data = {**content, "id": record_id}
        with self.store.tx() as conn:
            seq = self.store.enqueue(conn, "create", record_id, None, data, self.clock().isoformat())
            item = OutboxItem(seq, "create", record_id, None, data, "")
            self.store.put_record(conn, LocalRecord("entry", record_id, apply_local(None, item) or {}, None, "draft",
                                                    "pending"))
        return record_id

    def update_entry(self, record_id: str, changes: dict[str, Any]) -> int:
        """Queue a change of some keys. `fields` travels whole (EntryPatch replaces it), built from the local
        copy, so the server's three-way merge still sees which keys inside it this phone changed."""
        if isinstance(changes.get("fields"), dict):
            rec = self.store.record("entry", record_id)
            current = (rec.data.get("fields") if rec else None) or {}
            changes = {**changes, "fields": {**current, **changes["fields"]}}
        return self._change(record_id, "update", changes)

    def delete_entry(self, record_id: str) -> int:
        return self._change(record_id, "delete", {})

    def submit_entry(self, record_id: str) -> int:
        return self._change(record_id, "submit", {})

    def _change(self, record_id: str, kind: str, data: dict[str, Any]) -> int:
        rec = self.store.record("entry", record_id)
        if rec is None:
            raise KeyError(f"no local entry {record_id}")
        # base_version is the version this change was made on: the server's last confirmed version plus one
        # for each of our own changes still queued ahead of it (each bumps the version when applied).
        base = (rec.server_version or 1) + self.store.pending_version_changes(record_id)
        with self.store.tx() as conn:
            seq = self.store.enqueue(conn, kind, record_id, base, data, self.clock().isoformat())
            view = apply_local(rec.data, OutboxItem(seq, kind, record_id, base, data, ""))
            status = (view or {}).get("status", rec.status)
            # server_data stays: a refused change is undone by rebasing on it.
            self.store.put_record(conn, LocalRecord("entry", record_id, view or rec.data, rec.server_version, status,
                                                    "pending", rec.server_data))
        return seq

    # -- sync -------------------------------------------------------------------------------------------

    async def sync(self) -> SyncReport:
        """Push the whole outbox, then pull until `has_more` is false; raises TransportError to retry later."""
        await self.push()
        await self.pull()
        return self.report

    async def push(self) -> int:
        """Send the outbox in batches of the advertised size; returns how many mutations were answered."""
        return await push_outbox(self)

    async def push_batch(self, items: list[OutboxItem]) -> dict[str, Any]:
        """Send exactly these mutations once and settle the answer (the chaos run uses it to reorder)."""
        return await send_batch(self, items)

    async def pull(self) -> int:
        """Pull pages from the saved cursor until `has_more` is false; on reset, push first, then rebuild."""
        return await pull_all(self)
