"""The web console: `/` answers the single-page shell, `/static/...` its scripts and styles.

The console is plain HTML, CSS and ES modules (no build step); it talks to the JSON API on the same
origin. Every response of this router carries a strict Content-Security-Policy, so even a rendering
mistake in the console cannot run injected script: only files from this origin may execute.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]

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
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
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
