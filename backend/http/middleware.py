"""ASGI middleware: request ids and JSON access logs, overload shedding, gzip request bodies."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
import zlib
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import MalformedRequest, PayloadTooLarge, ServiceUnavailable
from backend.http.context import origin_var, request_id_var

access_log = logging.getLogger("fieldlog.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def request_context(app: ASGIApp) -> ASGIApp:
    """Give each request an id (the caller's X-Request-Id if sane), echo it, and log one line per request."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        client = scope.get("client")
        request_token = request_id_var.set(request_id)
        origin_token = origin_var.set(client[0] if client else None)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(request_token)
            origin_var.reset(origin_token)
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status_holder["status"],
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                        "user_id": scope["state"].get("user_id"),
                    }
                },
            )

    return middleware


class InflightLimiter:
    """Shed load with 503 + Retry-After when too many requests are in progress on this node."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.inflight = 0

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope.get("path") in ("/health", "/ready", "/metrics"):
                await app(scope, receive, send)
                return
            if self.inflight >= self.limit:
                raise ServiceUnavailable(
                    "The server is busy; retry after the indicated delay",
                    headers={"Retry-After": "2"},
                    extra={"retry_after": 2},
                )
            self.inflight += 1
            try:
                await app(scope, receive, send)
            finally:
                self.inflight -= 1

        return middleware


def gzip_requests(max_compressed: int, max_expanded: int) -> Any:
    """Inflate `Content-Encoding: gzip` request bodies, refusing more than `max_expanded` bytes (zip bombs)."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            headers = dict(scope.get("headers") or [])
            encoding = headers.get(b"content-encoding", b"").decode("latin-1").strip().lower()
            if encoding in ("", "identity"):
                await app(scope, receive, send)
                return
            if encoding != "gzip":
                raise MalformedRequest(f"Content-Encoding {encoding!r} is not supported; use gzip")
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            compressed = 0
            chunks: list[bytes] = []
            expanded = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                piece = message.get("body", b"")
                compressed += len(piece)
                if compressed > max_compressed:
                    raise PayloadTooLarge(f"The compressed body exceeds {max_compressed} bytes",
                                          extra={"limit": max_compressed})
                try:
                    out = inflater.decompress(piece, max_expanded - expanded + 1)
                except zlib.error:
                    raise MalformedRequest(
                        f"The gzip body is corrupt: inflating failed within compressed bytes "
                        f"{compressed - len(piece)}-{compressed}",
                        extra={"reason": "malformed_gzip", "position": compressed - len(piece)}) from None
                expanded += len(out)
                if expanded > max_expanded or inflater.unconsumed_tail:
                    raise PayloadTooLarge(f"The body expands beyond {max_expanded} bytes",
                                          extra={"limit": max_expanded})
                chunks.append(out)
                more = message.get("more_body", False)
            if not inflater.eof:
                raise MalformedRequest(f"The gzip body is truncated at compressed byte {compressed}",
                                       extra={"reason": "malformed_gzip", "position": compressed})
            body = b"".join(chunks)
            new_headers = [
                (k, v) for k, v in scope.get("headers", []) if k not in (b"content-encoding", b"content-length")
            ] + [(b"content-length", str(len(body)).encode())]
            state = scope.setdefault("state", {})
            # Routes with their own limits need to know the wire size was already bounded here.
            state["gzip_wire_bytes"] = compressed
            scope = {**scope, "headers": new_headers}
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            await app(scope, replay, send)

        return middleware

    return factory
