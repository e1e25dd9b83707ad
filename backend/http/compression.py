"""Gzip responses with ISA-L (the `isal` package) instead of zlib.

Litestar's compression middleware always uses Python's `gzip` module (zlib) for gzip, whatever facade is
configured. ISA-L's level 1 writes the same size as zlib's level 6 for the JSON we send (a 500-change pull
page: 56 kB either way) at about a twentieth of the CPU (0.7 ms instead of 16 ms), and gzip was a fifth of
an incremental pull's CPU. The output is ordinary gzip; phones notice nothing.
"""

from __future__ import annotations

from typing import Any

from isal import isal_zlib
from litestar.types import ASGIApp, Message, Receive, Scope, Send

LEVEL = 1  # ISA-L's levels are 0-3; 1 already matches zlib's 6 in size here
_GZIP_WBITS = 16 + isal_zlib.MAX_WBITS


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"accept-encoding":
            return any(part.split(b";")[0].strip() in (b"gzip", b"*") for part in value.lower().split(b","))
    return False


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


def gzip_responses(minimum_size: int = 1024) -> Any:
    """Middleware factory: gzip replies of at least `minimum_size` bytes to callers that accept gzip."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not _accepts_gzip(scope):
                await app(scope, receive, send)
                return
            start: Message | None = None
            compressor: Any = None  # set once the reply is being gzipped
            passing = False  # the reply goes out as it is

            async def send_gzipped(message: Message) -> None:
                nonlocal start, compressor, passing
                if message["type"] == "http.response.start":
                    start = message
                    return
                if passing or start is None or message["type"] != "http.response.body":
                    await send(message)
                    return
                body, more = message.get("body", b""), message.get("more_body", False)
                if compressor is None:
                    headers = list(start.get("headers") or [])
                    if (start["status"] in (204, 206, 304) or _header(headers, b"content-encoding") is not None
                            or _header(headers, b"content-range") is not None
                            or (not more and len(body) < minimum_size)):
                        passing = True
                        await send(start)
                        await send(message)
                        return
                    compressor = isal_zlib.compressobj(LEVEL, isal_zlib.DEFLATED, _GZIP_WBITS)
                    vary = _header(headers, b"vary")
                    headers = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"vary")]
                    headers += [(b"vary", vary + b", Accept-Encoding" if vary else b"Accept-Encoding"),
                                (b"content-encoding", b"gzip")]
                    if not more:
                        out = compressor.compress(body) + compressor.flush()
                        await send({**start, "headers": [*headers, (b"content-length", str(len(out)).encode())]})
                        await send({"type": "http.response.body", "body": out, "more_body": False})
                        return
                    await send({**start, "headers": headers})
                out = compressor.compress(body)
                out += compressor.flush(isal_zlib.Z_SYNC_FLUSH if more else isal_zlib.Z_FINISH)
                await send({"type": "http.response.body", "body": out, "more_body": more})

            await app(scope, receive, send_gzipped)

        return middleware

    return factory
