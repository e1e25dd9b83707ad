"""The field benchmark's plumbing: fieldlog on 127.0.0.1 with a log of every byte it wrote and read, and
Chromium's link (pages and service workers) emulated through the DevTools protocol."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import uvicorn

# What uvicorn adds to every answer after the app's own headers (date, server): counted as a fixed size.
UVICORN_HEADERS = len(b"date: Wed, 02 Dec 2026 01:07:15 GMT\r\nserver: uvicorn\r\n")


@dataclass
class Exchange:
    """One HTTP request as the server saw it: when, what, and the HTTP bytes each way (TCP/IP not counted)."""

    start: float
    method: str
    path: str
    content_range: str | None
    up: int = 0
    down: int = 0
    status: int | None = None
    end: float | None = None


@dataclass
class WireLog:
    """Every exchange the server answered (appended on the server's thread, read on the bench's)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def wrap(self, app: Any) -> Any:
        async def logged(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            headers = dict(scope["headers"])
            raw = scope.get("raw_path") or scope["path"].encode()
            query = scope.get("query_string") or b""
            ex = Exchange(time.monotonic(), scope["method"], scope["path"],
                          headers.get(b"content-range", b"").decode() or None)
            ex.up = len(scope["method"]) + len(raw) + len(query) + 13 + sum(len(k) + len(v) + 4 for k, v in
                                                                          scope["headers"]) + 2
            self.exchanges.append(ex)

            async def counted_receive() -> Any:
                message = await receive()
                if message["type"] == "http.request":
                    ex.up += len(message.get("body", b""))
                return message

            async def counted_send(message: Any) -> None:
                if message["type"] == "http.response.start":
                    ex.status = message["status"]
                    ex.down += 17 + sum(len(k) + len(v) + 4 for k, v in message.get("headers", [])) \
                        + UVICORN_HEADERS + 2
                elif message["type"] == "http.response.body":
                    ex.down += len(message.get("body", b""))
                    if not message.get("more_body"):
                        ex.end = time.monotonic()
                await send(message)

            try:
                await app(scope, counted_receive, counted_send)
            finally:
                ex.end = ex.end or time.monotonic()

        return logged

    def since(self, t0: float, t1: float | None = None) -> list[Exchange]:
        return [e for e in list(self.exchanges) if e.start >= t0 and (t1 is None or e.start < t1)]

    async def quiet(self, seconds: float, *, within: float = 300.0) -> None:
        """Wait until nothing is in flight and nothing has finished for `seconds`."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            now = time.monotonic()
            busy = [e for e in list(self.exchanges) if e.end is None or now - e.end < seconds]
            if not busy:
                return
            await asyncio.sleep(0.2)
        raise TimeoutError("the link never went quiet")


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


def serve_in_thread(app: Any) -> tuple[str, _ThreadServer]:
    """Serve the ASGI app on a free port of 127.0.0.1 from its own thread; returns (base URL, server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = _ThreadServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                          lifespan="on", timeout_graceful_shutdown=2))
    server.thread = threading.Thread(target=server.run, name="field-bench-server", daemon=True)  # type: ignore[attr-defined]
    server.thread.start()  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return url, server
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass
class Received:
    at: float
    bytes: int
    source: str  # "page" or "sw"
    url: str


class Link:
    """One emulated link for every page and service worker of the browser: throughput, latency, offline.

    Service workers are separate DevTools targets (their fetches are not the page's): the browser-level
    session attaches to each one as it appears and applies the same conditions there.
    """

    def __init__(self, kbit_per_s: float, latency_ms: float) -> None:
        self.rate = kbit_per_s * 1000 / 8  # bytes per second, each way
        self.latency = latency_ms
        self.online = True
        self.received: list[Received] = []
        self._pages: list[Any] = []
        self._workers: dict[str, int] = {}  # session id -> next message id
        self._browser_cdp: Any = None
        self._urls: dict[str, str] = {}

    def conditions(self) -> dict[str, Any]:
        return {"offline": not self.online, "latency": self.latency, "downloadThroughput": self.rate,
                "uploadThroughput": self.rate}

    async def watch_workers(self, browser: Any) -> None:
        self._browser_cdp = cdp = await browser.new_browser_cdp_session()
        cdp.on("Target.targetCreated", self._on_target)
        cdp.on("Target.receivedMessageFromTarget", self._on_worker_message)
        cdp.on("Target.detachedFromTarget", lambda ev: self._workers.pop(ev.get("sessionId"), None))
        await cdp.send("Target.setDiscoverTargets", {"discover": True})

    def _on_target(self, event: dict[str, Any]) -> None:
        info = event["targetInfo"]
        if info["type"] == "service_worker":
            asyncio.ensure_future(self._attach_worker(info["targetId"]))

    async def _attach_worker(self, target_id: str) -> None:
        answer = await self._browser_cdp.send("Target.attachToTarget", {"targetId": target_id, "flatten": False})
        sid = answer["sessionId"]
        self._workers[sid] = 1
        await self._to_worker(sid, "Network.enable", {})
        await self._to_worker(sid, "Network.emulateNetworkConditions", self.conditions())

    async def _to_worker(self, sid: str, method: str, params: dict[str, Any]) -> None:
        n = self._workers.get(sid)
        if n is None:
            return
        self._workers[sid] = n + 1
        message = json.dumps({"id": n, "method": method, "params": params})
        try:
            await self._browser_cdp.send("Target.sendMessageToTarget", {"sessionId": sid, "message": message})
        except Exception:  # noqa: BLE001 - the worker was stopped meanwhile; a new target comes when it restarts
            self._workers.pop(sid, None)

    def _on_worker_message(self, event: dict[str, Any]) -> None:
        message = json.loads(event["message"])
        self._count(message.get("method"), message.get("params") or {}, "sw")

    def _count(self, method: str | None, params: dict[str, Any], source: str) -> None:
        if method == "Network.requestWillBeSent":
            self._urls[params["requestId"]] = params["request"]["url"]
        elif method == "Network.responseReceived":
            response = params["response"]
            if response.get("fromServiceWorker") or response.get("fromDiskCache"):
                self._urls[params["requestId"]] = ""  # answered inside the phone: nothing crossed the link
        elif method == "Network.loadingFinished":
            url = self._urls.pop(params["requestId"], None)
            if url != "":
                self.received.append(Received(time.monotonic(), int(params["encodedDataLength"]), source, url or "?"))

    async def add_page(self, page: Any) -> None:
        """Put a page on the link (before it navigates)."""
        cdp = await page.context.new_cdp_session(page)
        for name in ("Network.requestWillBeSent", "Network.responseReceived", "Network.loadingFinished"):
            cdp.on(name, lambda params, name=name: self._count(name, params, "page"))
        await cdp.send("Network.enable")
        await cdp.send("Network.emulateNetworkConditions", self.conditions())
        self._pages.append(cdp)

    async def set_online(self, online: bool) -> None:
        self.online = online
        for cdp in list(self._pages):
            try:
                await cdp.send("Network.emulateNetworkConditions", self.conditions())
            except Exception:  # noqa: BLE001 - a closed page
                self._pages.remove(cdp)
        for sid in list(self._workers):
            await self._to_worker(sid, "Network.emulateNetworkConditions", self.conditions())

    def bytes_since(self, t0: float, t1: float | None = None, source: str | None = None) -> int:
        return sum(r.bytes for r in self.received if r.at >= t0 and (t1 is None or r.at < t1)
                   and (source is None or r.source == source))
