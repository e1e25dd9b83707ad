"""The expert's phone app: an offline-first installable web app (PWA) served at `/app/`.

Plain HTML, CSS and ES modules in `static/` (no build step), with a web app manifest and a service worker
(`/app/sw.js`, scope `/app/`) that caches the shell so the app opens with no network after the first visit.
It talks to the same origin's JSON API and speaks `fieldlog-sync/1` from its IndexedDB outbox. Every answer
of this router carries the console's strict Content-Security-Policy: only this origin's files may run.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import Any, NamedTuple

from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.response import Redirect

from backend.web import security_headers

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Python's table does not know the manifest type on every platform; browsers want this exact one.
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")

# Revalidate on every load: the service worker serves the shell offline, and a deploy reaches phones at once.
_REVALIDATE = CacheControlHeader(no_cache=True)


class ShellFile(NamedTuple):
    """One file of the shell as served: its bytes, its type and a validator made from its content."""

    body: bytes
    media_type: str
    etag: str


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def load_shell(static_dir: Path = STATIC_DIR) -> dict[str, ShellFile]:
    """Every file under `static/` by its URL path, read once: the files are part of the release.

    `sw.js` is the versioned worker and `index.html` is the page at `/app/`, so neither has a path of its own here.
    """
    files: dict[str, ShellFile] = {}
    for path in sorted(p for p in static_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(static_dir).as_posix()
        if rel in ("sw.js", "index.html"):
            continue
        body = path.read_bytes()
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files["/app/" + rel] = ShellFile(body=body, media_type=media_type, etag=_etag(body))
    index = (static_dir / "index.html").read_bytes()
    files["/app/"] = ShellFile(body=index, media_type="text/html", etag=_etag(index))
    return files


def _answer(request: Request[Any, Any, Any], file: ShellFile) -> Response[bytes]:
    """The file, or 304 when the browser already holds this very content (the worker's install asks that way)."""
    headers = {"ETag": file.etag}
    wanted = request.headers.get("if-none-match", "")
    if wanted and (wanted.strip() == "*" or file.etag in (tag.strip().removeprefix("W/") for tag in wanted.split(","))):
        return Response(content=b"", status_code=304, headers=headers, media_type=file.media_type)
    return Response(content=file.body, media_type=file.media_type, headers=headers)


@get("/app/", include_in_schema=False, cache_control=_REVALIDATE, sync_to_thread=False)
def app_index(request: Request[Any, Any, Any]) -> Response[bytes] | Redirect:
    """The app's shell; screens switch by URL fragment, so this one page serves every screen.

    Litestar answers `/app` and `/app/` with one handler; `/app` is sent on to `/app/`, the worker's scope.
    """
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    if not raw.split(b"?")[0].endswith(b"/"):
        return Redirect(path="/app/", status_code=308)
    return _answer(request, _SHELL["/app/"])


_DEV_VERSION = b"const VERSION = 'fieldlog-app-dev';"


def service_worker_source(static_dir: Path = STATIC_DIR) -> bytes:
    """`sw.js` with its cache VERSION set to a digest of every shell file, so any change to the shell is a new version."""
    digest = hashlib.sha256()
    for path in sorted(p for p in static_dir.rglob("*") if p.is_file() and p.name != "sw.js"):
        digest.update(path.relative_to(static_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    source = (static_dir / "sw.js").read_bytes()
    if _DEV_VERSION not in source:
        raise RuntimeError("sw.js must declare `const VERSION = 'fieldlog-app-dev';` for the server to version it")
    digest.update(source)
    return source.replace(_DEV_VERSION, f"const VERSION = 'fieldlog-app-{digest.hexdigest()[:16]}';".encode())


# Computed once per process: the files are part of the release and do not change while it runs.
_SERVICE_WORKER = service_worker_source()
_SHELL = load_shell()


@get("/app/sw.js", include_in_schema=False, cache_control=_REVALIDATE, sync_to_thread=False)
def app_service_worker(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The service worker, versioned by the shell's content (the browser re-checks it on every online start)."""
    return _answer(request, ShellFile(body=_SERVICE_WORKER, media_type="text/javascript", etag=_etag(_SERVICE_WORKER)))


@get("/app/{path:path}", include_in_schema=False, cache_control=_REVALIDATE, sync_to_thread=False)
def app_file(request: Request[Any, Any, Any], path: str) -> Response[bytes]:
    """A file of the shell (styles, modules, icons, manifest); anything else under `/app/` is 404."""
    file = _SHELL.get("/app" + path)
    if file is None or path == "/":
        raise NotFoundException(f"no such file in the app: {path}")
    return _answer(request, file)


def app_router() -> Router:
    """The shell, the manifest, the service worker and the modules, each with the security headers."""
    return Router(
        path="/",
        route_handlers=[app_index, app_service_worker, app_file],
        middleware=[security_headers],
        include_in_schema=False,
    )


ROUTER = app_router()
