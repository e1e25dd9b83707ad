"""The web console: `/` answers the single-page shell, `/static/...` its scripts and styles.

The console is plain HTML, CSS and ES modules (no build step); it talks to the JSON API on the same
origin. Every response of this router carries a strict Content-Security-Policy, so even a rendering
mistake in the console cannot run injected script: only files from this origin may execute.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.storage import EXTRA_KEY as STORAGE_KEY

STATIC_DIR = Path(__file__).resolve().parent / "static"


def content_security_policy(upload_origins: tuple[str, ...] = ()) -> str:
    """The strict policy: only this origin's files run; pages may also send file bytes to the storage's origins."""
    connect = " ".join(["'self'", *upload_origins])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = content_security_policy()


@lru_cache(maxsize=8)
def _security_headers(upload_origins: tuple[str, ...]) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"content-security-policy", content_security_policy(upload_origins).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    )


def _upload_origins(scope: Scope) -> tuple[str, ...]:
    """Where the running app's storage has browsers upload (S3 presigned URLs); none for disk storage."""
    runtime = scope["app"].state.get("runtime")
    storage = runtime.extras.get(STORAGE_KEY) if runtime is not None else None
    return tuple(getattr(storage, "browser_origins", ()))


# Revalidate on every load: a deploy must reach open consoles at once, and the files are small.
_REVALIDATE = CacheControlHeader(no_cache=True)


@get("/", include_in_schema=False, cache_control=_REVALIDATE, sync_to_thread=False)
def console_index() -> Response[bytes]:
    """The console's shell; navigation inside it is by URL fragment, so this one path serves every page."""
    return Response(content=(STATIC_DIR / "index.html").read_bytes(), media_type="text/html")


def security_headers(app: ASGIApp) -> ASGIApp:
    """Add the security headers to every answer; a middleware, because static file answers skip response_headers."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_security_headers(_upload_origins(scope))]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def console_router() -> Router:
    """The console's routes, with the security headers on every answer (the shell and each static file)."""
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=_REVALIDATE,
        name="console_static",
        include_in_schema=False,
    )
    return Router(
        path="/",
        route_handlers=[console_index, static],
        middleware=[security_headers],
        include_in_schema=False,
    )


ROUTER = console_router()
