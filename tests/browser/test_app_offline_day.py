"""Scenario 1: first visit online, sign in, offline reload opens the app, a day logged offline survives a
restart, and back online every entry reaches the server exactly once and the photo completes."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import screenshot
from tests.browser.phone import entries_of, new_entry, open_app, photo_bytes, rows, sign_in, synced


async def test_a_day_logged_offline_arrives_once_with_its_photo(context: Any, world: Any, db: Any) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    await context.set_offline(True)
    await page.reload()
    await page.wait_for_function("() => document.body.dataset.ready === 'true'")
    assert await page.locator(".attendance .att").count() == 4

    await page.click(".att[data-status=present]")
    await page.wait_for_selector(".att.chosen[data-status=present]")
    await new_entry(page, "clinic", {"fields.session": "am", "fields.patients_first_visit": "12",
                                     "fields.patients_follow_up": "5"})
    await new_entry(page, "lecture", {"fields.title": "基层高血压规范化管理", "fields.hours": "2",
                                      "fields.audience_count": "40"}, photo=photo_bytes())
    await new_entry(page, "surgery", {"fields.procedure_name": "腹腔镜胆囊切除术", "fields.grade": "grade_3",
                                      "fields.role": "primary"})
    await synced(page, pending=4)
    assert await page.locator("#sync-state").get_attribute("data-photos") == "1"
    assert await page.locator("article.entry").count() == 4
    await screenshot(page, "app/today-offline")
    assert await entries_of(db, world.expert_a.id) == []  # nothing left the phone

    # Close the app and open it again, still offline: everything is still there.
    await page.close()
    page = await context.new_page()
    await open_app(page)
    await synced(page, pending=4)
    assert sorted(await page.locator("article.entry").evaluate_all("els => els.map(e => e.dataset.type)")) == [
        "attendance", "clinic", "lecture", "surgery"]

    await context.set_offline(False)  # the `online` event starts a sync
    await synced(page, pending=0, within_ms=20_000)
    await page.wait_for_function("() => document.getElementById('sync-state').dataset.photos === '0'",
                                 timeout=20_000)
    saved = await entries_of(db, world.expert_a.id)
    assert sorted(e["activity_type"] for e in saved) == ["attendance", "clinic", "lecture", "surgery"]
    assert {e["status"] for e in saved} == {"draft"}
    assert next(e for e in saved if e["activity_type"] == "clinic")["fields"]["patients_first_visit"] == 12
    assert next(e for e in saved if e["activity_type"] == "attendance")["fields"] == {"status": "present"}
    mutations = await rows(db, "SELECT seq, outcome FROM sync_mutations m JOIN devices d ON d.id = m.device_id "
                               "WHERE d.user_id = :u ORDER BY seq", u=world.expert_a.id)
    assert [(m["seq"], m["outcome"]) for m in mutations] == [(n, "applied") for n in (1, 2, 3, 4)]
    photos = await rows(db, "SELECT a.status, a.size, a.received_bytes, ea.entry_id FROM attachments a "
                            "JOIN entry_attachments ea ON ea.sha256 = a.sha256 WHERE a.owner_id = :u",
                        u=world.expert_a.id)
    lecture = next(e for e in saved if e["activity_type"] == "lecture")
    assert len(photos) == 1
    assert photos[0]["status"] == "complete"
    assert photos[0]["entry_id"] == lecture["id"]
    assert photos[0]["received_bytes"] == photos[0]["size"]
    await page.click("a[href='#/week']")
    await page.wait_for_selector(".day article.entry")
    await screenshot(page, "app/week")
