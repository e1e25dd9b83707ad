"""Field benchmark: the expert's phone app in Chromium over a 2G-like link, with cuts.

Usage (embedded PostgreSQL in FIELDLOG_DATA_DIR, or DATABASE_URL=postgresql://...):

    FIELDLOG_DATA_DIR=/tmp/fl-field-bench .venv/bin/python infra/bench/field_bench.py

fieldlog is served on 127.0.0.1 (uvicorn, real PostgreSQL); the system Chromium opens `/app/` at 390x844 with
every page and service worker on one link emulated through the DevTools protocol
(`Network.emulateNetworkConditions`, default 50 kbit/s each way and 500 ms latency). The run:

1. cold first load (empty browser): bytes on the wire (the page's and the service worker's install) and the
   time until the app is ready (`body[data-ready=true]`, the first screen drawn); then the expert signs in;
2. warm start offline: the page closed and opened again with the link down;
3. a day's work logged offline through the app's screens: attendance plus 7 entries (8 in all) and 2 photos
   (a sign-in sheet and a lecture photo, made as 12-megapixel camera JPEGs; the app scales them);
4. online again: time until every entry is acknowledged (pending count 0) and until both photos are complete;
   the link is cut for a while once the server holds part of the photos, and the upload must resume from the
   server's offset (bytes sent again are counted from the server's log of Content-Range requests);
5. the database is checked: 8 entries once each, 2 complete attachments of the right size.

Figures are printed with the run's settings; targets: first load < 300 KB, offline warm start < 1 s, entries
acknowledged < 5 s after reconnecting, photos complete < 60 s. Bytes "on the wire" are HTTP bytes (headers and
bodies, as the browser's DevTools and the server count them); TCP/IP framing is not included.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("FIELDLOG_DATA_DIR", "/tmp/fl-field-bench")

from benchlib import bench_database  # noqa: E402
from field_link import Link, WireLog, serve_in_thread  # noqa: E402
from field_work import DAY, PHOTO_JS, WATCH_JS, log_day  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.db.engine import make_engine, make_sessionmaker  # noqa: E402
from backend.models import Attachment, Entry  # noqa: E402
from sync.chaos.world import CHAOS_PASSWORD, make_people  # noqa: E402

PHONE = {"width": 390, "height": 844}
WARM_STARTS = 3
CHROMIUM = os.environ.get("FIELDLOG_CHROMIUM", "/usr/bin/chromium")


def kb(n: float) -> str:
    return f"{n / 1000:.1f} KB"


async def ready_ms(page: Any, within: float) -> float:
    """Milliseconds from navigation start until the app said it is ready (its first screen drawn)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:  # polled with evaluate: wait_for_function would need 'unsafe-eval'
        t = await page.evaluate("window.__bench ? window.__bench.ready : null")
        if t is not None:
            return float(t)
        await asyncio.sleep(0.05)
    raise TimeoutError("the app never said it was ready")


async def until_mark(page: Any, key: str, value: str, after: float, within: float) -> float:
    """performance.now() of the first sync-state change after `after` where data-<key> == value."""
    js = f"""([after]) => (window.__bench.marks.find((m) => m.t >= after && m.{key} === '{value}') || {{}}).t ?? null"""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        t = await page.evaluate(js, [after])
        if t is not None:
            return float(t)
        await asyncio.sleep(0.1)
    state = await page.evaluate("document.getElementById('sync-state').textContent")
    raise TimeoutError(f"sync state never reached {key}={value} (now: {state})")


@dataclass
class Run:
    """One run's moving parts and its figures."""

    args: argparse.Namespace
    url: str
    base: str
    expert: Any
    wire: WireLog
    link: Link
    out: dict[str, Any] = field(default_factory=dict)

    async def open(self, ctx: Any) -> Any:
        page = await ctx.new_page()
        await self.link.add_page(page)
        await page.goto(self.base + "/app/")
        return page

    async def cold_load_and_sign_in(self, ctx: Any) -> Any:
        """An empty browser opens the app online, waits for the worker's install, and the expert signs in."""
        out, wire, link = self.out, self.wire, self.link
        t0 = time.monotonic()
        page = await self.open(ctx)
        out["cold_ready_ms"] = await ready_ms(page, 120)
        await wire.quiet(3.0)  # the service worker's install finishes in the background
        t1 = time.monotonic()
        out["cold_page"] = link.bytes_since(t0, t1, "page")
        out["cold_sw"] = link.bytes_since(t0, t1, "sw")
        out["cold_server"] = sum(e.down + e.up for e in wire.since(t0, t1))
        out["cold_requests"] = len(wire.since(t0, t1))
        await page.fill("#username", self.expert.username)
        await page.fill("#password", CHAOS_PASSWORD)
        await page.click("form.login button[type=submit]")
        await page.wait_for_selector("button.quick-btn[data-type=clinic]:not([disabled])", timeout=180_000)
        out["sign_in_s"] = time.monotonic() - t1
        await wire.quiet(3.0)
        out["sign_in_bytes"] = sum(e.down + e.up for e in wire.since(t1))
        return page

    async def warm_starts(self, ctx: Any, page: Any) -> Any:
        """With the link down, the page is closed and opened again WARM_STARTS times."""
        await self.link.set_online(False)
        self.out["warm"] = warm = []
        for _ in range(WARM_STARTS):
            await page.close()
            page = await self.open(ctx)
            ready = await ready_ms(page, 30)
            nav = await page.evaluate("""(() => { const n = performance.getEntriesByType('navigation')[0];
                return [n.responseEnd, n.domContentLoadedEventEnd]; })()""")
            warm.append((ready, *nav))
        self.out["warm_ready_ms"] = statistics.median(w[0] for w in warm)
        assert await page.evaluate("navigator.onLine") is False, "the emulated link should read as offline"
        await page.wait_for_selector("button.quick-btn[data-type=clinic]:not([disabled])")
        return page

    async def reconnect_with_a_cut(self, page: Any) -> None:
        """Online again: entries acknowledged, then the photos, with one cut half way through a chunk."""
        out, wire, link, args = self.out, self.wire, self.link, self.args
        t_on = time.monotonic()
        p_on = float(await page.evaluate("performance.now()"))
        await link.set_online(True)
        out["ack_s"] = (await until_mark(page, "pending", "0", p_on, 120) - p_on) / 1000
        until_ack = wire.since(t_on, t_on + out["ack_s"])
        out["ack_bytes"] = sum(e.down + e.up for e in until_ack)
        pushes = [e for e in until_ack if e.path.endswith("/sync/push")]
        out["push_bytes"], out["pushes"] = sum(e.down + e.up for e in pushes), len(pushes)
        out["ack_requests"] = [f"{e.method} {e.path}" for e in until_ack]
        out["cut_after_s"] = await wait_for_cut_point(wire, t_on, args.cut_after_kb * 1000, 180) - t_on
        await link.set_online(False)
        await asyncio.sleep(1.0)  # the cut-off request is over on the server's side
        held = await server_offsets(self.url, self.expert.user_id)
        await asyncio.sleep(max(0.0, args.cut_s - 1.0))
        t_back = time.monotonic()
        await link.set_online(True)
        out["photos_s"] = (await until_mark(page, "photos", "0", p_on, 600) - p_on) / 1000
        await wire.quiet(2.0)
        out["resent"], out["resumed"] = resent_after(wire.since(t_back), held)
        out["held_at_cut"] = sum(held.values())
        uploads = [e for e in wire.since(t_on) if "/attachments" in e.path]
        out["photo_wire_up"] = sum(e.up for e in uploads)
        cut = [e for e in uploads if e.status is None or e.status >= 300]
        out["cut_requests"], out["cut_up"] = len(cut), sum(e.up for e in cut)


async def run(args: argparse.Namespace) -> int:
    settings, url, keep = await bench_database()
    expert = (await make_people(url, 1)).experts[0]
    wire = WireLog()
    base, server = serve_in_thread(wire.wrap(create_app(settings, url)))
    bench = Run(args, url, base, expert, wire, Link(args.kbps, args.latency_ms))
    out = bench.out
    print(f"field bench: link {args.kbps:g} kbit/s each way, {args.latency_ms:g} ms latency, cut {args.cut_s:g} s; "
          f"Chromium {CHROMIUM} at 390x844; server {base} (real PostgreSQL); machine shared with other work")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        await bench.link.watch_workers(browser)
        ctx = await browser.new_context(viewport=PHONE, screen=PHONE, is_mobile=True, has_touch=True,
                                        locale="zh-CN", timezone_id="Asia/Shanghai", service_workers="allow")
        ctx.set_default_timeout(120_000)
        await ctx.add_init_script(WATCH_JS)
        photos = await make_photos(ctx)
        out["camera_sizes"] = [len(p["buffer"]) for p in photos]
        page = await bench.cold_load_and_sign_in(ctx)
        page = await bench.warm_starts(ctx, page)
        await log_day(page, photos)  # offline
        assert await page.get_attribute("#sync-state", "data-pending") == str(len(DAY) + 1)
        assert await page.get_attribute("#sync-state", "data-photos") == "2"
        await bench.reconnect_with_a_cut(page)
        await browser.close()
    server.should_exit = True
    await asyncio.to_thread(server.thread.join, 15)  # its database pool closes before the database stops

    # 5. What the server holds.
    engine = make_engine(url, pool_size=1)
    async with make_sessionmaker(engine)() as s:
        entries = (await s.execute(select(Entry.activity_type, func.count()).where(Entry.expert_id == expert.user_id)
                                   .group_by(Entry.activity_type))).all()
        attachments = (await s.execute(select(Attachment.status, Attachment.size)
                                       .where(Attachment.owner_id == expert.user_id))).all()
    await engine.dispose()
    out["entries"] = sum(n for _, n in entries)
    out["attachments"] = sorted((st, size) for st, size in attachments)
    out["photo_sizes"] = [size for _, size in out["attachments"]]
    report(out, args)
    del keep
    ok = out["entries"] == len(DAY) + 1 and [st for st, _ in out["attachments"]] == ["complete", "complete"]
    return 0 if ok else 1


async def wait_for_cut_point(wire: WireLog, t0: float, at_least: float, within: float) -> float:
    """The moment the server has accepted `at_least` photo bytes and the next chunk is half way over the link."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        puts = [e for e in wire.since(t0) if e.method == "PUT"]
        accepted = sum(e.up for e in puts if e.status is not None and e.status < 300)
        if accepted >= at_least and any(e.end is None and e.up >= 32 * 1024 for e in puts):
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise TimeoutError("the photos never started uploading")


async def server_offsets(url: str, owner: Any) -> dict[str, int]:
    """Bytes the server holds of each of the expert's attachments (what a resumed upload must not send again)."""
    engine = make_engine(url, pool_size=1)
    async with make_sessionmaker(engine)() as s:
        rows = (await s.execute(select(Attachment.id, Attachment.received_bytes)
                                .where(Attachment.owner_id == owner))).all()
    await engine.dispose()
    return {str(i): int(n) for i, n in rows}


def resent_after(exchanges: list[Any], held: dict[str, int]) -> tuple[int, list[str]]:
    """Bytes the server already held that the first upload after the cut sent again, and where each resumed."""
    again, resumed = 0, []
    for attachment_id, have in held.items():
        puts = sorted((e for e in exchanges if e.method == "PUT" and attachment_id in e.path and e.content_range),
                      key=lambda e: e.start)
        if puts and have:
            start = int(puts[0].content_range.removeprefix("bytes ").split("-")[0])
            again += max(0, have - start)
            resumed.append(f"at byte {start} with {have} held")
    return again, resumed


async def make_photos(ctx: Any) -> list[dict[str, Any]]:
    """Two 12-megapixel camera JPEGs (a sign-in sheet, a lecture hall), drawn in a scratch page."""
    page = await ctx.new_page()
    files = []
    for name, kind, seed in (("签到表.jpg", "sheet", 7), ("讲课.jpg", "hall", 11)):
        data = await page.evaluate(PHOTO_JS, {"w": 3024, "h": 4032, "kind": kind, "seed": seed})
        files.append({"name": name, "mimeType": "image/jpeg", "buffer": base64.b64decode(data)})
    await page.close()
    return files


def report(o: dict[str, Any], args: argparse.Namespace) -> None:
    def verdict(value: float, target: float, unit: str) -> str:
        return f"target < {target:g} {unit}: " + ("met" if value < target else f"MISSED by {value - target:.1f} {unit}")

    cold = o["cold_page"] + o["cold_sw"]
    print(f"app shell, cold first load: {kb(cold)} on the wire (page {kb(o['cold_page'])}, service worker install "
          f"{kb(o['cold_sw'])}; server counted {kb(o['cold_server'])} in {o['cold_requests']} requests) "
          f"[{verdict(cold / 1000, 300, 'KB')}]")
    print(f"  time to interactive (login screen ready): {o['cold_ready_ms'] / 1000:.2f} s")
    print(f"  sign-in and first sync: {o['sign_in_s']:.1f} s, {kb(o['sign_in_bytes'])}")
    starts = "; ".join(f"{r:.0f} (shell from the service worker {d:.0f}, DOMContentLoaded {c:.0f})"
                       for r, d, c in o["warm"])
    print(f"warm start offline: ready after {o['warm_ready_ms']:.0f} ms, median of {len(o['warm'])} "
          f"[{verdict(o['warm_ready_ms'], 1000, 'ms')}]; each in ms: {starts}")
    n = len(DAY) + 1
    print(f"day's work ({n} entries + 2 photos of {', '.join(kb(s) for s in o['photo_sizes'])} after the app's "
          f"scaling; camera files {', '.join(kb(s) for s in o['camera_sizes'])}), from online again:")
    print(f"  entries acknowledged after {o['ack_s']:.2f} s [{verdict(o['ack_s'], 5, 's')}]; "
          f"requests until then: {', '.join(o['ack_requests'])}")
    print(f"  bytes on the wire per entry: {o['push_bytes'] / n:.0f} B in the push ({o['pushes']} push request(s), "
          f"{kb(o['push_bytes'])}), {o['ack_bytes'] / n:.0f} B counting everything until acknowledged")
    photos = sum(o["photo_sizes"])
    print(f"  photos complete after {o['photos_s']:.1f} s, including a {args.cut_s:g} s cut "
          f"{o['cut_after_s']:.1f} s after reconnecting [{verdict(o['photos_s'], 60, 's')}]; "
          f"{o['photos_s'] - args.cut_s:.1f} s of link time for {kb(photos)}, i.e. "
          f"{photos * 8 / 1000 / max(0.1, o['photos_s'] - args.cut_s):.1f} kbit/s of the {args.kbps:g}")
    print(f"  the cut: server held {kb(o['held_at_cut'])}; the upload resumed {'; '.join(o['resumed']) or '-'}: "
          f"{o['resent']} B sent again; requests "
          f"that failed on the server's side: {o['cut_requests']} ({kb(o['cut_up'])} up); "
          f"attachment requests sent {kb(o['photo_wire_up'])} up in all for {kb(photos)} of photos")
    print(f"server holds: {o['entries']} entries of the expert (expected {n}), attachments {o['attachments']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kbps", type=float, default=50.0, help="link throughput each way, kbit/s")
    parser.add_argument("--latency-ms", type=float, default=500.0, help="added latency per request")
    parser.add_argument("--cut-s", type=float, default=8.0, help="length of the cut during the photo upload")
    parser.add_argument("--cut-after-kb", type=float, default=64.0, help="photo KB on the server before the cut")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
