"""The app's screens at 390×844 (screenshots in var/screenshots/app/), client-side checks, the server's field
errors on the named field, figures kept offline, sign-out warnings and a failed refresh keeping the queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.browser.conftest import LiveServer, RequestLog, screenshot
from tests.browser.phone import (
    READ_META,
    WRITE_META,
    after_sync,
    claims_of,
    entries_of,
    fill,
    open_app,
    rows,
    sign_in,
    synced,
)


async def test_client_side_checks_stop_bad_entries_before_they_are_queued(page: Any, world: Any, db: Any) -> None:
    await open_app(page)
    await screenshot(page, "app/login")
    await sign_in(page, world.expert_a.username)
    await page.click(".quick-btn[data-type=clinic]")
    await fill(page, {"fields.session": "am", "fields.patients_first_visit": "0", "fields.patients_follow_up": "0",
                      "note": "患者电话 13812345678"})
    await page.click("form.entry-form button[type=submit]")
    first_visit = page.locator("[data-error-for='fields.patients_first_visit']")
    assert "至少要有一名" in (await first_visit.text_content() or "")
    assert "手机号" in (await page.locator("[data-error-for='note']").text_content() or "")
    await screenshot(page, "app/form-errors")
    await page.click("form.entry-form button[type=button]:has-text('取消')")
    await page.click(".all-types summary")
    await page.click(".type-btn[data-type=surgery]")
    await page.click("form.entry-form button[type=submit]")
    assert "手术名称" in (await page.locator("[data-error-for='fields.procedure_name']").text_content() or "")
    assert "手术分级" in (await page.locator("[data-error-for='fields.grade']").text_content() or "")
    await fill(page, {"fields.procedure_name": "阑尾切除术", "fields.grade": "grade_2", "fields.role": "primary",
                      "fields.local_surgeon_role": "primary"})
    await page.click("form.entry-form button[type=submit]")
    assert "不能都是主刀" in (await page.locator("[data-error-for='fields.local_surgeon_role']").text_content() or "")
    assert await page.locator("#sync-state").get_attribute("data-pending") == "0"
    assert await entries_of(db, world.expert_a.id) == []


async def test_the_servers_field_errors_are_shown_on_the_field_they_name(page: Any, world: Any, db: Any) -> None:
    await sign_in(page, world.expert_a.username)
    await page.click(".all-types summary")
    await page.click(".type-btn[data-type=mentoring]")
    await fill(page, {"fields.trainee_id": str(uuid.uuid4())})  # well formed, but no such trainee here
    await after_sync(page, page.click("form.entry-form button[type=submit]"))
    await page.click("a[href='#/week']")
    issue = page.locator(".issue.rejected")
    await issue.wait_for()
    assert "fields.trainee_id" in (await issue.text_content() or "")
    await page.locator("article.entry[data-state=rejected] button.edit").click()
    error = page.locator("[data-error-for='fields.trainee_id']")
    assert "trainee" in (await error.text_content() or "")
    await screenshot(page, "app/server-field-error")
    assert await entries_of(db, world.expert_a.id) == []
    refused = await rows(db, "SELECT outcome, result FROM sync_mutations m JOIN devices d ON d.id = m.device_id "
                             "WHERE d.user_id = :u", u=world.expert_a.id)
    assert [r["outcome"] for r in refused] == ["rejected"]


async def test_my_figures_are_kept_for_offline_reading_with_their_date(context: Any, world: Any, db: Any) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    await page.click("a[href='#/figures']")
    await page.wait_for_selector(".figures .service-days")
    assert "已计 0 /" in (await page.locator(".service-days").text_content() or "")
    await screenshot(page, "app/figures")
    await context.set_offline(True)
    await page.reload()
    await page.wait_for_selector(".figures .as-of")
    assert "数据截至" in (await page.locator(".as-of").text_content() or "")


async def test_sign_out_with_unsent_work_warns_with_the_count(context: Any, world: Any, db: Any,
                                                              server_log: RequestLog) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    await context.set_offline(True)
    await page.click(".att[data-status=travel]")
    await synced(page, pending=1)
    await page.click("a[href='#/me']")
    await page.click("button.sign-out")
    warning = page.locator(".signout-warn")
    await warning.locator("p").wait_for()
    assert "还有 1 条记录未发送" in (await warning.text_content() or "")
    await screenshot(page, "app/sign-out-warning")
    await warning.locator("button:has-text('取消')").click()
    await context.set_offline(False)
    await after_sync(page, page.click("#sync-now"))
    await page.click("button.sign-out")  # nothing unsent: no warning
    await page.wait_for_selector("form.login")
    assert [h.status for h in server_log.matching("POST", "/api/v1/auth/logout")] == [204]
    assert [e["fields"] for e in await entries_of(db, world.expert_a.id)] == [{"status": "travel"}]


async def test_a_failed_refresh_keeps_the_queue_and_asks_to_sign_in_again(
        context: Any, world: Any, db: Any, live_server: LiveServer) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    device = await page.evaluate(READ_META, "device_id")
    claims = claims_of(await page.evaluate(READ_META, "access_token"))
    await context.set_offline(True)
    await page.click(".att[data-status=leave]")
    await synced(page, pending=1)
    expired = live_server.signer.issue(uuid.UUID(claims["sub"]), claims["dev"], uuid.UUID(claims["sid"]),
                                       now=datetime.now(UTC) - timedelta(hours=3))
    await page.evaluate(WRITE_META, ["access_token", expired])
    await page.evaluate(WRITE_META, ["refresh_token", "revoked-refresh-token-0123456789"])
    await context.set_offline(False)
    await page.wait_for_selector("form.login")
    assert "登录已失效" in (await page.locator("form.login").text_content() or "")
    assert await page.locator("#sync-state").get_attribute("data-pending") == "1"
    await screenshot(page, "app/sign-in-again")
    await page.fill("#password", "correct-horse-42")
    await page.click("form.login button[type=submit]")
    await synced(page, pending=0)
    assert await page.evaluate(READ_META, "device_id") == device
    assert [e["fields"] for e in await entries_of(db, world.expert_a.id)] == [{"status": "leave"}]


async def test_today_fits_a_small_phone_and_a_tablet(phone_context: Any, world: Any, db: Any) -> None:
    for name, size in (("360", {"width": 360, "height": 740}), ("tablet", {"width": 768, "height": 1024})):
        context = await phone_context(viewport=size, screen=size)
        page = await context.new_page()
        await sign_in(page, world.expert_a.username)
        # Nothing wider than the screen: no sideways scrolling, no cut-off buttons.
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= size["width"]
        await screenshot(page, f"app/today-{name}")
