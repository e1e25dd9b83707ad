"""The reference sync client: what a phone does, step by step, to sync with fieldlog without losing work.

It is the executable description of the protocol in `sync/protocol.py` for the phone team, and the phone
in the tests and the chaos run. The rules, and why:

1. Work is saved locally first. Each change gets the next mutation number and goes to the outbox in the
   same local transaction (`ClientStore.enqueue`), so a crash never loses a change that the user saw saved.
2. `sync()` pushes before it pulls: the server then answers the pull with our own changes merged, and a
   reset (below) never throws away work that only the phone has.
3. A push is judged by its envelope, not by its status code: a 200 whose body does not echo our request id
   and protocol (a hotel Wi-Fi portal) is a failed attempt, and the outbox stays as it was.
4. Anything that is not a valid answer (no network, a timeout, a dropped reply, a 5xx) leaves the outbox
   untouched; the next attempt sends the same numbers and the server answers them from its stored answers.
5. Every result kind has its own handling; none blocks the queue (see `_settle`).
6. A 401 `token_expired` is answered by refreshing and replaying the very same bytes; the server accepts
   mutations written before the token expired.
7. The pull cursor is saved with each page, so an interrupted first sync resumes page by page.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sync.client_store import ClientStore, LocalRecord, OutboxItem, apply_local
from sync.client_transport import (
    AuthRequired,
    EnvelopeError,
    ProtocolError,
    Reply,
    RetryLater,
    Transport,
    TransportError,
    problem_of,
    retry_after_of,
)
from sync.protocol import PROTOCOL

__all__ = ["AuthRequired", "ClientStore", "EnvelopeError", "ProtocolError", "RetryLater", "SyncClient",
           "SyncReport", "TransportError"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SyncReport:
    pushed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    refreshes: int = 0
    pulled: int = 0
    pages: int = 0
    resets: int = 0


class SyncClient:
    """One phone: local edits that work offline, and `sync()` = push the outbox, then pull pages."""

    def __init__(self, store: ClientStore, transport: Transport, *, app_version: str = "reference-1",
                 clock: Callable[[], datetime] = utcnow, pull_limit: int = 500,
                 reauthenticate: Callable[[SyncClient], Awaitable[None]] | None = None) -> None:
        self.store = store
        self.transport = transport
        self.app_version = app_version
        self.clock = clock
        self.pull_limit = pull_limit
        # Called when the refresh token no longer works (e.g. its reply was lost and the reuse revoked the
        # session): a phone shows its sign-in screen; the outbox survives because the device id does.
        self.reauthenticate = reauthenticate
        self.config: dict[str, Any] | None = None
        self.report = SyncReport()

    # -- authentication ---------------------------------------------------------------------------------

    async def login(self, username: str, password: str) -> None:
        body = {"username": username, "password": password, "device_id": self.store.device_id,
                "app_version": self.app_version}
        reply = await self.transport.send("POST", "/api/v1/auth/login", headers=self._headers(auth=False),
                                          body=json.dumps(body).encode())
        self._save_tokens(reply)

    async def refresh(self) -> None:
        body = {"refresh_token": self.store.get_meta("refresh_token") or "", "device_id": self.store.device_id}
        reply = await self.transport.send("POST", "/api/v1/auth/refresh", headers=self._headers(auth=False),
                                          body=json.dumps(body).encode())
        if reply.status == 401:
            if self.reauthenticate is None:
                raise AuthRequired(problem_of(reply).get("detail", "sign in again"))
            await self.reauthenticate(self)
            return
        self._save_tokens(reply)
        self.report.refreshes += 1

    def _save_tokens(self, reply: Reply) -> None:
        if reply.status == 401:
            raise AuthRequired(problem_of(reply).get("detail", "sign in again"))
        if reply.status in (429, 503):
            raise RetryLater("auth overloaded", retry_after_of(reply))
        if reply.status >= 500:
            raise TransportError(f"auth answered {reply.status}")
        if reply.status != 200:
            raise ProtocolError(reply.status, problem_of(reply))
        try:
            tokens = json.loads(reply.body)
            access, refresh = tokens["access_token"], tokens["refresh_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise EnvelopeError("the sign-in answer is not fieldlog's") from exc
        with self.store.tx() as conn:
            self.store.set_meta("access_token", access, conn)
            self.store.set_meta("refresh_token", refresh, conn)

    def _headers(self, *, auth: bool = True, request_id: str | None = None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip"}
        if request_id:
            headers["X-Request-Id"] = request_id
        if auth and (token := self.store.get_meta("access_token")):
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def _call(self, method: str, path: str, *, body: bytes | None = None, params: dict[str, str] | None = None,
                    request_id: str, envelope: bool = True) -> dict[str, Any]:
        """One sync request; a 401 for an expired token refreshes and sends the very same bytes once more."""
        for attempt in range(2):
            headers = self._headers(request_id=request_id)
            if body is not None:
                headers["Content-Encoding"] = "gzip"
            reply = await self.transport.send(method, path, headers=headers, body=body, params=params)
            if reply.status == 401 and attempt == 0:
                await self.refresh()
                continue
            return self._answer(reply, request_id if envelope else None)
        raise AuthRequired("the server refused a freshly refreshed token")

    def _answer(self, reply: Reply, request_id: str | None) -> dict[str, Any]:
        if reply.status == 401:
            raise AuthRequired(problem_of(reply).get("detail", "sign in again"))
        if reply.status in (429, 503):
            raise RetryLater(f"server answered {reply.status}", retry_after_of(reply))
        if reply.status >= 500:
            raise TransportError(f"server answered {reply.status}")
        if reply.status != 200:
            raise ProtocolError(reply.status, problem_of(reply))
        try:
            answer = json.loads(reply.body)
        except ValueError:
            raise EnvelopeError("the reply is not JSON (captive portal?)") from None
        if not isinstance(answer, dict) or answer.get("protocol") != PROTOCOL:
            raise EnvelopeError("the reply carries no fieldlog protocol envelope")
        if request_id is not None and answer.get("request_id") != request_id:
            raise EnvelopeError("the reply does not echo our request id")
        return answer

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

    async def load_config(self) -> dict[str, Any]:
        if self.config is None:
            self.config = await self._call("GET", "/api/v1/sync/config", request_id=uuid.uuid4().hex, envelope=False)
        return self.config

    async def push(self) -> int:
        """Send the outbox in batches of the advertised size; returns how many mutations were answered."""
        return await push_outbox(self)

    async def push_batch(self, items: list[OutboxItem]) -> dict[str, Any]:
        """Send exactly these mutations once and settle the answer (the chaos run uses it to reorder)."""
        return await send_batch(self, items)

    async def pull(self) -> int:
        """Pull pages from the saved cursor until `has_more` is false; on reset, push first, then rebuild."""
        return await pull_all(self)


# Imported last: these modules take a SyncClient and import this one for its type only.
from sync.client_pull import pull_all  # noqa: E402
from sync.client_push import push_outbox, send_batch  # noqa: E402
