"""The expert's phone app: an offline-first installable web app (PWA) served at `/app/`.

Plain HTML, CSS and ES modules in `static/` (no build step), with a web app manifest and a service worker
(`/app/sw.js`, scope `/app/`) that caches the shell so the app opens with no network after the first visit.
It talks to the same origin's JSON API and speaks `fieldlog-sync/1` from its IndexedDB outbox. Every answer
of this router carries the console's strict Content-Security-Policy: only this origin's files may run.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from backend.web import security_headers

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Python's table does not know the manifest type on every platform; browsers want this exact one.
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")

# Revalidate on every load: the service worker serves the shell offline, and a deploy reaches phones at once.
_REVALIDATE = CacheControlHeader(no_cache=True)


@get("/app/", include_in_schema=False, cache_control=_REVALIDATE, sync_to_thread=False)
def app_index(request: Request[Any, Any, Any]) -> Response[bytes] | Redirect:
    """The app's shell; screens switch by URL fragment, so this one page serves every screen.

    Litestar answers `/app` and `/app/` with one handler; `/app` is sent on to `/app/`, the worker's scope.
    """
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    if not raw.split(b"?")[0].endswith(b"/"):
        return Redirect(path="/app/", status_code=308)
    return Response(content=(STATIC_DIR / "index.html").read_bytes(), media_type="text/html")


def app_router() -> Router:
    """The shell, the manifest, the service worker and the modules, each with the security headers."""
    files = create_static_files_router(
        path="/app",
        directories=[STATIC_DIR],
        cache_control=_REVALIDATE,
        name="phone_app_static",
        include_in_schema=False,
    )
    return Router(path="/", route_handlers=[app_index, files], middleware=[security_headers], include_in_schema=False)


ROUTER = app_router()
