"""The admin's notification page: a hospital's robot is set, shown masked, refused with the reason beside the
field when it is not usable, and removed; a rule's hour and threshold are changed. Each step lands in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import NotifyChannel, NotifyRuleSetting
from tests.browser.conftest import screenshot, wait_for
from tests.browser.test_console_phone import sign_in

ROBOT = "http://127.0.0.1:9/cgi-bin/webhook/send?key=ROBOT-KEY-693a"  # 127.0.0.1 is allowed in the tests


async def _channels(session: AsyncSession, institution_id: Any) -> list[NotifyChannel]:
    session.expire_all()
    rows = await session.execute(select(NotifyChannel).where(NotifyChannel.institution_id == institution_id))
    return list(rows.scalars())


async def test_the_admin_sets_a_hospitals_robot_and_a_rules_hour(page: Any, world: Any, session: AsyncSession) -> None:
    hospital_id = world.hospital_a.id  # a plain value: the session's objects are expired while the test polls
    await sign_in(page, world.admin.username, route="#/admin/notify")
    await page.wait_for_selector("#notify-institution")
    await page.select_option("#notify-institution", str(hospital_id))
    await page.wait_for_selector(f".notify-institution[data-institution='{hospital_id}'] .rule[data-rule=expert_silent]")

    form = page.locator("form", has=page.locator("input[name=url]"))
    await form.locator("select[name=kind]").select_option("wecom")
    await form.locator("input[name=url]").fill("http://robot.example.com/send?key=x")
    await form.locator("button[type=submit]").click()
    url_row = form.locator(".field", has=page.locator("input[name=url]"))
    await url_row.locator(".field-error div").wait_for()
    assert "https" in await url_row.inner_text()
    assert await _channels(session, hospital_id) == []

    await form.locator("input[name=url]").fill(ROBOT)
    await form.locator("button[type=submit]").click()
    await page.wait_for_selector(f".notify-institution[data-institution='{hospital_id}'] button[data-remove=wecom]")
    shown = await page.inner_text(".view")
    assert "127.0.0.1:9/cgi-bin/webhook/send" in shown
    assert "ROBOT-KEY-693a" not in shown  # the key lives in the query and is never shown back
    [channel] = await _channels(session, hospital_id)
    assert (channel.kind, channel.url, channel.enabled) == ("wecom", ROBOT, True)

    card = page.locator(".rule[data-rule=expert_silent]")
    await card.locator("input[name=threshold_days]").fill("5")
    await card.locator("input[name=send_hour]").fill("20")
    await card.locator("input[name=skip_weekends]").uncheck()
    await card.locator("button[type=submit]").click()
    await card.locator("text=已保存").wait_for()

    async def saved() -> bool:
        session.expire_all()
        row = await session.get(NotifyRuleSetting, (hospital_id, "expert_silent"))
        return row is not None and (row.threshold_days, row.send_hour, row.skip_weekends) == (5, 20, False)

    await wait_for(saved, what="the rule's new settings in the database")
    await screenshot(page, "console/notify")

    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("button[data-remove=wecom]")
    await page.wait_for_selector("text=尚未配置")
    assert await _channels(session, hospital_id) == []


async def test_a_supervisor_has_no_notification_page(page: Any, world: Any) -> None:
    await sign_in(page, world.supervisor_a.username, route="#/admin/notify")
    await page.wait_for_selector(".alert")
    assert "通知渠道" not in await page.inner_text("nav")
