"""The wire side of the reference client: the transport interface, its httpx implementation and the errors.

A phone's networking layer must tell three things apart, because each leaves the outbox in a different
state: no usable answer (retry the same batch later), an answer that refuses the whole request, and a
session that is gone (sign in again; the queue is kept).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


class TransportError(Exception):
    """No usable answer (offline, timeout, dropped reply, 5xx): try again later with the same outbox."""


class EnvelopeError(TransportError):
    """A 200 that is not a fieldlog answer to this request (captive portal, proxy, wrong server)."""


class RetryLater(TransportError):
    """The server is overloaded (429/503); wait `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthRequired(Exception):
    """The session is gone (revoked, disabled, refresh expired): the user must sign in; the queue is kept."""


class ProtocolError(Exception):
    """The server refused the request as a whole (e.g. 413, 422) with a problem document."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('detail') or problem}")
        self.status = status
        self.problem = dict(problem)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Sends one HTTP request; raises TransportError when no reply arrives."""

    async def send(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None = None,
                   params: dict[str, str] | None = None) -> Reply: ...


class HttpTransport:
    """The real network, through httpx (which also inflates gzip replies)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, client: httpx.AsyncClient | None = None) -> None:
        self.client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def send(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None = None,
                   params: dict[str, str] | None = None) -> Reply:
        try:
            r = await self.client.request(method, path, headers=headers, content=body, params=params)
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        return Reply(r.status_code, r.headers, r.content)

    async def aclose(self) -> None:
        await self.client.aclose()


def problem_of(reply: Reply) -> dict[str, Any]:
    try:
        body = json.loads(reply.body)
    except ValueError:
        return {"detail": reply.body[:200].decode("utf-8", "replace")}
    return body if isinstance(body, dict) else {"detail": str(body)}


def retry_after_of(reply: Reply) -> float:
    try:
        return max(float(reply.headers.get("retry-after", "1")), 0.0)
    except ValueError:
        return 1.0


def gzip_json(payload: Any) -> bytes:
    # mtime=0: the same batch compresses to the same bytes, so a replay is byte-identical.
    return gzip.compress(json.dumps(payload, separators=(",", ":"), default=str).encode(), 6, mtime=0)
