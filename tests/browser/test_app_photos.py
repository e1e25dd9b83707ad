"""Scenario 6: a photo upload cut halfway resumes from the server's offset, not from zero; the entry itself
never waits for the photo."""

from __future__ import annotations

import re
from typing import Any

from PIL import Image

from tests.browser.conftest import LiveServer, RequestLog
from tests.browser.phone import entries_of, new_entry, photo_bytes, rows, sign_in

RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


async def test_a_cut_photo_upload_resumes_from_the_servers_offset(
        context: Any, world: Any, db: Any, server_log: RequestLog, live_server: LiveServer) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    puts = 0

    async def cut_the_second_chunk(route: Any) -> None:
        nonlocal puts
        if route.request.method != "PUT":
            await route.continue_()
            return
        puts += 1
        if puts == 2:
            await route.fetch()  # the chunk reaches the server, which stores it ...
            await route.abort("connectionreset")  # ... and the phone never hears so
        else:
            await route.continue_()

    await page.route("**/api/v1/attachments/*/content", cut_the_second_chunk)
    await new_entry(page, "lecture", {"fields.title": "县域卒中中心建设", "fields.hours": "1.5"}, photo=photo_bytes(seed=6))
    await page.wait_for_function("() => document.getElementById('sync-state').dataset.photos === '0'", timeout=30_000)

    [entry] = await entries_of(db, world.expert_a.id)
    [photo] = await rows(db, "SELECT a.size, a.status, a.received_bytes, a.storage_key, a.content_type FROM attachments a JOIN entry_attachments ea "
                             "ON ea.sha256 = a.sha256 WHERE ea.entry_id = :e", e=entry["id"])
    assert photo["status"] == "complete"
    assert photo["received_bytes"] == photo["size"]
    # Scaled on the phone: a 2400×1800 camera picture arrives as a JPEG of at most 1600 px on its long side.
    stored = live_server.settings.storage_dir / "objects" / photo["storage_key"]
    with Image.open(stored) as picture:
        assert (picture.format, picture.size) == ("JPEG", (1600, 1200))
    assert photo["content_type"] == "image/jpeg"
    puts_seen = server_log.matching("PUT", "/content")
    ranges = [tuple(int(x) for x in RANGE.match(h.headers["content-range"]).groups()) for h in puts_seen]  # type: ignore[union-attr]
    assert len(ranges) >= 3
    assert all(h.status == 200 for h in puts_seen)
    # Every byte was sent once: each range starts where the previous one ended, also after the cut.
    assert ranges[0][0] == 0
    assert all(nxt[0] == prev[1] + 1 for prev, nxt in zip(ranges, ranges[1:], strict=False))
    assert ranges[-1][1] + 1 == photo["size"]
    # After the lost answer the phone asked the server how much it holds, and went on from there.
    order = [(h.method, h.path) for h in server_log.hits if "/api/v1/attachments/" in h.path]
    second_put = [i for i, (m, _) in enumerate(order) if m == "PUT"][1]
    assert order[second_put + 1][0] == "HEAD"
    assert order[second_put + 2][0] == "PUT"
