"""The reference client's connection: sign-in and token refresh, one request judged by its envelope, the config.

A push is judged by its envelope, not by its status code: a 200 whose body does not echo our request id and
protocol (a hotel Wi-Fi portal) is a failed attempt. A 401 `token_expired` is answered by refreshing and
sending the very same bytes once more; a refresh answered 401 means the session is gone (sign in again).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sync.client.store import ClientStore
from sync.client.transport import (
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
from sync.server.protocol import PROTOCOL


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


class Connection:
    """A signed-in phone's link to the server: tokens, one request with its envelope check, the sync config.

    The push and pull steps (`sync.client.push`, `sync.client.pull`) take a Connection; `SyncClient` adds the
    local edits and `sync()` on top of it.
    """

    def __init__(self, store: ClientStore, transport: Transport, *, app_version: str = "reference-1",
                 clock: Callable[[], datetime] = utcnow, pull_limit: int = 500,
                 reauthenticate: Callable[[Connection], Awaitable[None]] | None = None,
                 schema_version: int = 1) -> None:
        self.store = store
        self.transport = transport
        self.app_version = app_version
        # The entry schema this phone writes; a server that reads an older one answers 409 and the outbox stays.
        self.schema_version = schema_version
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
        reply = await self.transport.send("POST", "/api/v1/auth/login", headers=self.headers(auth=False),
                                          body=json.dumps(body).encode())
        self._save_tokens(reply)

    async def refresh(self) -> None:
        body = {"refresh_token": self.store.get_meta("refresh_token") or "", "device_id": self.store.device_id}
        reply = await self.transport.send("POST", "/api/v1/auth/refresh", headers=self.headers(auth=False),
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

    def headers(self, *, auth: bool = True, request_id: str | None = None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip"}
        if request_id:
            headers["X-Request-Id"] = request_id
        if auth and (token := self.store.get_meta("access_token")):
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def call(self, method: str, path: str, *, body: bytes | None = None, params: dict[str, str] | None = None,
                    request_id: str, envelope: bool = True) -> dict[str, Any]:
        """One sync request; a 401 for an expired token refreshes and sends the very same bytes once more."""
        for attempt in range(2):
            headers = self.headers(request_id=request_id)
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

    async def load_config(self) -> dict[str, Any]:
        if self.config is None:
            self.config = await self.call("GET", "/api/v1/sync/config", request_id=uuid.uuid4().hex, envelope=False)
        return self.config
