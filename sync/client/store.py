"""The phone's local database (SQLite): records, the numbered outbox, the cursor, tokens and the device id.

This is the part of the reference client a phone team re-implements in its own storage layer. The rules
it encodes are the ones that make sync safe:

* A mutation gets its number (`seq`) and is written to the outbox in the same local transaction as the
  change the user sees. The number is never reused, even after the mutation is acknowledged, so the
  server can tell a resend (same number) from new work.
* The outbox row is never edited once written: a batch replayed after a lost reply or a refreshed token
  must carry exactly the same mutations, or exactly-once means nothing.
* The cursor is saved in the same transaction as the page of changes it follows, so an interrupted pull
  resumes where it stopped and never skips or re-applies half a page.
* A deletion the server acknowledged is final: the record is dropped at once, whatever else of it is still
  queued, and no later answer (a replayed create, a conflict's server copy) or pull page brings it back.
  Answers do not arrive in the order the mutations were made: a batch sent ahead of an unanswered one (a
  lost reply, a racing request) gets its answers first.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sync.client.records import LocalRecord, OutboxItem, apply_local

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,            -- what the user sees: server copy plus local changes not yet answered
    server_data TEXT,              -- the last copy the server sent (NULL: none yet)
    server_version INTEGER,        -- last version the server confirmed (NULL: never seen by the server)
    status TEXT,                   -- review status (entries)
    state TEXT NOT NULL,           -- synced | pending | conflict | locked | rejected
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,       -- the device's strictly increasing mutation number
    kind TEXT NOT NULL,            -- create | update | delete | submit
    record_id TEXT NOT NULL,
    base_version INTEGER,
    data TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    result TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (acked, seq);
CREATE INDEX IF NOT EXISTS outbox_record ON outbox (record_id, acked);
CREATE TABLE IF NOT EXISTS issues (  -- answers the user must see: conflicts, locks, rejections
    seq INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    errors TEXT,
    server_copy TEXT
);
"""


class ClientStore:
    """A phone's SQLite database; every public method is one local transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in `tx`), never implicit.
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        if self.get_meta("device_id") is None:
            # The device id is chosen once and survives sign-outs: the server ties the mutation numbers to it.
            self.set_meta("device_id", f"phone-{uuid.uuid4().hex}")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta -------------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str | None, conn: sqlite3.Connection | None = None) -> None:
        (conn or self.db).execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                                  "SET value = excluded.value", (key, value))

    @property
    def device_id(self) -> str:
        return self.get_meta("device_id") or ""

    # -- records ----------------------------------------------------------------------------------------

    _COLUMNS = "kind, id, data, server_version, status, state, server_data"

    @staticmethod
    def _rec(r: Any) -> LocalRecord:
        return LocalRecord(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], json.loads(r[6]) if r[6] else None)

    def record(self, kind: str, record_id: str) -> LocalRecord | None:
        row = self.db.execute(f"SELECT {self._COLUMNS} FROM records WHERE kind = ? AND id = ?",  # noqa: S608
                              (kind, record_id)).fetchone()
        return None if row is None else self._rec(row)

    def records(self, kind: str) -> list[LocalRecord]:
        sql = f"SELECT {self._COLUMNS} FROM records WHERE kind = ? ORDER BY id"  # noqa: S608 - a constant
        rows = self.db.execute(sql, (kind,)).fetchall()
        return [self._rec(r) for r in rows]

    @staticmethod
    def put_record(conn: sqlite3.Connection, rec: LocalRecord) -> None:
        conn.execute(
            "INSERT INTO records (kind, id, data, server_version, status, state, server_data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, server_version = excluded.server_version, "
            "status = excluded.status, state = excluded.state, server_data = excluded.server_data",
            (rec.kind, rec.id, json.dumps(rec.data, default=str), rec.server_version, rec.status, rec.state,
             json.dumps(rec.server_data, default=str) if rec.server_data is not None else None))

    def rebase(self, conn: sqlite3.Connection, record_id: str, server_copy: dict[str, Any] | None, *,
               state: str | None = None, gone: bool = False) -> None:
        """Rebuild what the user sees: the server's copy with our still-queued changes replayed on top.

        This is how a phone shows the server's truth (approvals, returns, edits from elsewhere) without
        losing changes it has not yet pushed; the server decides later how those changes merge. Replaying
        is safe because every local operation is idempotent (a merge of keys, a flag, a status).
        """
        if self.deleted_on_server(record_id):
            self.drop_record(conn, "entry", record_id)
            return
        rec = self.record("entry", record_id)
        base: dict[str, Any] | None = None
        if not gone:
            base = server_copy if server_copy is not None else (rec.server_data or rec.data if rec else None)
        view = base
        pending = self.pending_for(record_id)
        for item in pending:
            view = apply_local(view, item)
        if view is None or (not pending and view.get("deleted")):
            if rec is not None and rec.server_data is None and state == "rejected" and not gone:
                # A refused create: keep what the user typed so they can correct and resend it.
                self.put_record(conn, LocalRecord("entry", record_id, rec.data, None, rec.status, "rejected"))
            else:
                self.drop_record(conn, "entry", record_id)
            return
        version = base.get("version") if base is not None and server_copy is not None else (
            rec.server_version if rec else None)
        new_state = "pending" if pending else (state or "synced")
        self.put_record(conn, LocalRecord("entry", record_id, view, version, view.get("status"), new_state,
                                          base if server_copy is not None else (rec.server_data if rec else None)))

    def confirm(self, conn: sqlite3.Connection, item: OutboxItem, version: int | None) -> None:
        """An applied mutation: predict the server's copy (the next pull brings the real one).

        An applied delete drops the record even while older mutations of it are unanswered (their answers
        come later, from the server's stored results, and change nothing): the server holds a tombstone, and a
        phone whose first sync has not finished never receives it.
        """
        if item.kind == "delete" or self.deleted_on_server(item.record_id):
            self.drop_record(conn, "entry", item.record_id)
            return
        rec = self.record("entry", item.record_id)
        if rec is None:
            return
        predicted: dict[str, Any] | None = None
        if item.kind == "create":
            predicted = apply_local(None, item)
        elif rec.server_data is not None:
            predicted = apply_local(rec.server_data, item)
        if predicted is not None:
            predicted = {**predicted, "version": version}
        state = "pending" if self.pending_for(item.record_id) else "synced"
        self.put_record(conn, LocalRecord("entry", rec.id, rec.data, version or rec.server_version, rec.status, state,
                                          predicted if predicted is not None else rec.server_data))

    @staticmethod
    def drop_record(conn: sqlite3.Connection, kind: str, record_id: str) -> None:
        conn.execute("DELETE FROM records WHERE kind = ? AND id = ?", (kind, record_id))

    # -- outbox -----------------------------------------------------------------------------------------

    def enqueue(self, conn: sqlite3.Connection, kind: str, record_id: str, base_version: int | None,
                data: dict[str, Any], queued_at: str) -> int:
        """Number and store a mutation; call inside the transaction that changes the record."""
        last = int(self.get_meta("last_seq") or "0")
        seq = last + 1
        self.set_meta("last_seq", str(seq), conn)
        conn.execute("INSERT INTO outbox (seq, kind, record_id, base_version, data, queued_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (seq, kind, record_id, base_version, json.dumps(data, default=str),
                                                   queued_at))
        return seq

    def pending(self, *, from_seq: int = 0, limit: int | None = None) -> list[OutboxItem]:
        sql = "SELECT seq, kind, record_id, base_version, data, queued_at FROM outbox WHERE acked = 0 AND seq >= ? " \
              "ORDER BY seq"
        rows = self.db.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), (from_seq,)).fetchall()
        return [OutboxItem(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    def pending_for(self, record_id: str) -> list[OutboxItem]:
        rows = self.db.execute("SELECT seq, kind, record_id, base_version, data, queued_at FROM outbox "
                               "WHERE acked = 0 AND record_id = ? ORDER BY seq", (record_id,)).fetchall()
        return [OutboxItem(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    def deleted_on_server(self, record_id: str) -> bool:
        """Whether the server acknowledged a deletion of this record (then nothing may bring it back)."""
        return self.db.execute("SELECT 1 FROM outbox WHERE record_id = ? AND acked = 1 AND kind = 'delete' "
                               "AND outcome IN ('applied', 'duplicate') LIMIT 1", (record_id,)).fetchone() is not None

    def pending_stats(self) -> tuple[int, str | None]:
        count, oldest = self.db.execute("SELECT count(*), min(queued_at) FROM outbox WHERE acked = 0").fetchone()
        return int(count), oldest

    def has_pending(self, record_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM outbox WHERE acked = 0 AND record_id = ? LIMIT 1",
                               (record_id,)).fetchone() is not None

    def pending_version_changes(self, record_id: str) -> int:
        row = self.db.execute("SELECT count(*) FROM outbox WHERE acked = 0 AND record_id = ? AND kind <> 'create'",
                              (record_id,)).fetchone()
        return int(row[0])

    @staticmethod
    def ack(conn: sqlite3.Connection, seq: int, outcome: str, result: dict[str, Any]) -> None:
        # Acknowledged rows stay as the device's history (the chaos run audits them); a phone may prune them.
        conn.execute("UPDATE outbox SET acked = 1, outcome = ?, result = ? WHERE seq = ?",
                     (outcome, json.dumps(result, default=str), seq))

    def history(self) -> list[tuple[OutboxItem, str | None, dict[str, Any] | None]]:
        rows = self.db.execute("SELECT seq, kind, record_id, base_version, data, queued_at, outcome, result "
                               "FROM outbox ORDER BY seq").fetchall()
        return [(OutboxItem(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]), r[6], json.loads(r[7]) if r[7] else None)
                for r in rows]

    # -- issues shown to the user -----------------------------------------------------------------------

    @staticmethod
    def add_issue(conn: sqlite3.Connection, seq: int, record_id: str, outcome: str, reason: str | None,
                  errors: list[Any], server_copy: dict[str, Any] | None) -> None:
        conn.execute("INSERT OR REPLACE INTO issues (seq, record_id, outcome, reason, errors, server_copy) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (seq, record_id, outcome, reason, json.dumps(errors, default=str),
                                                   json.dumps(server_copy, default=str) if server_copy else None))

    def issues(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT seq, record_id, outcome, reason, errors, server_copy FROM issues "
                               "ORDER BY seq").fetchall()
        return [{"seq": r[0], "record_id": r[1], "outcome": r[2], "reason": r[3], "errors": json.loads(r[4] or "[]"),
                 "server_copy": json.loads(r[5]) if r[5] else None} for r in rows]

    def wipe_server_data(self, conn: sqlite3.Connection) -> None:
        """Forget everything the server told us before a pull from scratch.

        Kept: records with unanswered local changes, and refused creates (what the user typed, which the server
        never stored as an entry). Everything else comes back from the pull if, and only if, the server still
        has it: a first sync sends no tombstones, so a record left here would stay forever.
        """
        conn.execute("DELETE FROM records WHERE id NOT IN (SELECT record_id FROM outbox WHERE acked = 0) "
                     "AND NOT (kind = 'entry' AND state = 'rejected' AND server_version IS NULL)")
        self.set_meta("cursor", None, conn)
