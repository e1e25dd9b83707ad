"""Browser test harness: a real fieldlog HTTP server on 127.0.0.1 and one Chromium driven by Playwright.

- `live_server` (session): the app from `create_app` served by uvicorn in a thread on a free port, on the
  session's migrated PostgreSQL (`database_url`), with a server-side request log (`live_server.log`).
  Data comes from the usual fixtures: `world` (tests/factories.py, on a database emptied per test) or
  `session` + the factories; commit before the browser looks. `live_server.signer` issues tokens.
- `browser` (session): the system's Chromium (`/usr/bin/chromium` or `chromium` on PATH, or
  `FIELDLOG_CHROMIUM`). No browser is a failure naming the fix, never a skip.
- `context` / `page` (per test): a phone-sized context (390×844, touch, zh-CN) with service workers allowed;
  `phone_context(**kw)` makes more. `screenshot(page, name)` writes `var/screenshots/<name>.png`.

The tests use Playwright's async API on the session's event loop; the server runs on its own loop in its own
thread, so a test awaiting the browser never starves the server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from backend.app import create_app
from backend.security.tokens import TokenSigner
from backend.settings import Settings

try:  # A missing package fails the tests below with the command that fixes it.
    from playwright.async_api import Browser, BrowserContext, Page, async_playwright
except ImportError:  # pragma: no cover - exercised only on a machine without the dev extras
    async_playwright = None  # type: ignore[assignment]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
FIX = "install it: `apt-get install -y chromium fonts-noto-cjk` (Debian; .ci/run does this) or set FIELDLOG_CHROMIUM"


def chromium_executable() -> str:
    """The system Chromium, or a test failure that names the command that fixes it."""
    for candidate in (os.environ.get("FIELDLOG_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"No Chromium for the browser tests; {FIX}", pytrace=False)


@dataclass
class Hit:
    """One request as the server saw it: method, path, the headers tests look at, and the status answered."""

    method: str
    path: str
    headers: dict[str, str]
    status: int | None = None
    query: str = ""


@dataclass
class RequestLog:
    """Every request the live server answered, in arrival order (thread-safe appends)."""

    hits: list[Hit] = field(default_factory=list)

    def clear(self) -> None:
        self.hits.clear()

    def matching(self, method: str, path_part: str) -> list[Hit]:
        return [h for h in list(self.hits) if h.method == method and path_part in h.path]


_LOGGED_HEADERS = {b"content-range", b"content-length", b"authorization", b"x-request-id", b"content-encoding"}


def logging_app(app: Any, log: RequestLog) -> Any:
    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = {k.decode(): v.decode("latin-1") for k, v in scope["headers"] if k in _LOGGED_HEADERS}
        hit = Hit(scope["method"], scope["path"], headers, query=scope.get("query_string", b"").decode("latin-1"))
        log.hits.append(hit)

        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                hit.status = message["status"]
            await send(message)

        await app(scope, receive, send_status)

    return wrapped


@dataclass
class LiveServer:
    url: str
    settings: Settings
    log: RequestLog
    signer: TokenSigner

    def at(self, path: str) -> str:
        return self.url + path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # older uvicorn; the thread must leave signals to pytest
        pass


@pytest.fixture(scope="session")
def live_server(test_settings: Settings, database_url: str) -> Iterator[LiveServer]:
    """fieldlog over real HTTP on 127.0.0.1 (a secure context for crypto.subtle and service workers)."""
    log = RequestLog()
    port = _free_port()
    app = create_app(test_settings, database_url)
    config = uvicorn.Config(logging_app(app, log), host="127.0.0.1", port=port, log_config=None, access_log=False,
                            lifespan="on", timeout_graceful_shutdown=2)
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, name="fieldlog-live-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise AssertionError("the live server never answered /health") from None
            time.sleep(0.1)
    yield LiveServer(url, test_settings, log, _signer_of(test_settings))
    server.should_exit = True
    thread.join(timeout=10)


def _signer_of(settings: Settings) -> TokenSigner:
    """A signer with the server's keys: tests forge tokens (e.g. an expired one) the server accepts as its own."""
    return TokenSigner(settings.jwt_keys, settings.jwt_active_kid, issuer=settings.jwt_issuer,
                       audience=settings.jwt_audience, ttl=timedelta(minutes=settings.access_token_minutes))


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if async_playwright is None:
        pytest.fail("Playwright for Python is missing; install the dev extras: `.venv/bin/pip install -e '.[dev]'`",
                    pytrace=False)
    executable = chromium_executable()
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        await launched.close()


PhoneContext = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture
async def phone_context(browser: Browser, live_server: LiveServer) -> AsyncIterator[PhoneContext]:
    """Make phone-sized contexts (closed after the test); keyword arguments go to `browser.new_context`."""
    made: list[BrowserContext] = []

    async def make(**kw: Any) -> BrowserContext:
        options: dict[str, Any] = {"viewport": PHONE, "screen": PHONE, "device_scale_factor": 1, "is_mobile": True,
                                   "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
                                   "service_workers": "allow", "base_url": live_server.url}
        options.update(kw)
        ctx = await browser.new_context(**options)
        ctx.set_default_timeout(15_000)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        await ctx.close()


@pytest.fixture
async def context(phone_context: PhoneContext) -> BrowserContext:
    return await phone_context()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def screenshot(page: Page, name: str) -> Path:
    """Write a screenshot of the page at its viewport to var/screenshots/<name>.png (folders made as needed)."""
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture
def server_log(live_server: LiveServer) -> RequestLog:
    """The live server's request log, emptied for this test."""
    live_server.log.clear()
    return live_server.log


async def wait_for(predicate: Callable[[], Awaitable[bool]], *, within: float = 15.0, what: str = "condition") -> None:
    """Poll an async predicate (e.g. a database query) until it holds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
