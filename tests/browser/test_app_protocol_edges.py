"""The protocol's edges as the app meets them: a captive portal's 200 page is not success, 503 with Retry-After
is retried by itself, and a pull reset pushes first, then rebuilds from no cursor without losing queued work."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import RequestLog, wait_for
from tests.browser.phone import WRITE_META, after_sync, entries_of, new_entry, rows, sign_in, synced

PORTAL = "<html><body><h1>欢迎使用酒店无线网络</h1><p>请登录后上网</p></body></html>"


async def test_a_captive_portal_page_is_not_taken_for_an_answer(context: Any, world: Any, db: Any,
                                                                server_log: RequestLog) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    await context.set_offline(True)
    await page.click(".att[data-status=present]")
    await synced(page, pending=1)

    async def portal(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=PORTAL)

    await page.route("**/api/v1/sync/**", portal)
    await context.set_offline(False)
    line = page.locator("#sync-state")
    await page.wait_for_function("() => document.getElementById('sync-state').textContent.includes('应答')")
    assert await line.get_attribute("data-pending") == "1"  # nothing was marked sent
    assert server_log.matching("POST", "/api/v1/sync/push") == []
    await page.unroute("**/api/v1/sync/**")
    await page.click("#sync-now")
    await synced(page, pending=0)
    assert len(await entries_of(db, world.expert_a.id)) == 1


async def test_busy_server_answers_are_retried_after_the_time_it_asks(context: Any, world: Any, db: Any) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    busy = 0

    async def overloaded_once(route: Any) -> None:
        nonlocal busy
        busy += 1
        if busy == 1:
            await route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/problem+json",
                                body='{"status": 503, "title": "Overloaded", "detail": "try again"}')
        else:
            await route.continue_()

    await page.route("**/api/v1/sync/push", overloaded_once)
    await page.click(".att[data-status=present]")
    await page.wait_for_function("() => document.getElementById('sync-state').textContent.includes('秒后重试')")

    async def arrived() -> bool:
        return len(await entries_of(db, world.expert_a.id)) == 1

    await wait_for(arrived, within=10, what="the retried push")  # no tap: the app retried by itself
    assert busy == 2


async def test_a_pull_reset_pushes_first_then_rebuilds(context: Any, world: Any, db: Any,
                                                       server_log: RequestLog) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    await new_entry(page, "clinic", {"fields.session": "am", "fields.patients_first_visit": "6"})
    await synced(page)
    await context.set_offline(True)
    await page.click(".att[data-status=present]")
    await synced(page, pending=1)
    await page.evaluate(WRITE_META, ["cursor", "not-a-cursor-the-server-signed"])
    server_log.clear()
    await context.set_offline(False)
    await page.click("#sync-now")
    await synced(page, pending=0)
    calls = [(h.method, h.path.rsplit("/", 1)[-1], "cursor=" in h.query) for h in server_log.hits if "/sync/" in h.path]
    # The queued entry went first; the bad cursor was answered with a reset; the rebuild pulled from no cursor.
    assert calls[:3] == [("POST", "push", False), ("GET", "pull", True), ("GET", "pull", False)]
    assert await page.locator("article.entry").count() == 2  # rebuilt from the server: both entries shown
    assert sorted(e["activity_type"] for e in await entries_of(db, world.expert_a.id)) == ["attendance", "clinic"]


async def test_a_deleted_draft_stays_deleted_after_later_syncs(context: Any, world: Any, db: Any) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    await new_entry(page, "clinic", {"fields.session": "pm", "fields.patients_follow_up": "3"})
    await synced(page)
    [entry] = await entries_of(db, world.expert_a.id)
    card = page.locator(f"article.entry[data-entry-id='{entry['id']}']")
    await after_sync(page, card.locator("button.remove").click())
    await page.click("#sync-now")
    await synced(page)
    await page.reload()
    await page.wait_for_function("() => document.body.dataset.ready === 'true'")
    await synced(page)
    assert await card.count() == 0
    [row] = await rows(db, "SELECT deleted_at FROM entries WHERE id = :e", e=entry["id"])
    assert row["deleted_at"] is not None
