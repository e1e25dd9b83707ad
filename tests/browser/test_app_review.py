"""Scenarios 3 and 4: a supervisor's return reaches the phone with its comment, is fixed and resubmitted, and an
approved entry cannot be edited; the same entry changed on the server and on the phone shows both versions
and the expert's choice is what the server keeps."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.phone import after_sync, entries_of, fill, new_entry, rows, sign_in, sync_now
from tests.factories import login


async def _decide(live_server: LiveServer, world: Any, entry: dict[str, Any], action: str, comment: str | None) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        supervisor = await login(api, world.supervisor_a.username)
        decision: dict[str, Any] = {"entry_id": str(entry["id"]), "version": entry["version"], "action": action}
        if comment:
            decision["comment"] = comment
        response = await api.post("/api/v1/review/decisions", json={"decisions": [decision]},
                                  headers=supervisor["headers"])
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["outcome"] == "applied", response.text


async def test_a_returned_entry_is_fixed_and_resubmitted_and_an_approved_one_is_not_editable(
        context: Any, world: Any, db: Any, live_server: LiveServer) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    await after_sync(page, new_entry(page, "clinic", {"fields.session": "am", "fields.patients_first_visit": "12"}))
    await page.click("a[href='#/week']")
    await after_sync(page, page.click("button.submit-week"))
    [entry] = await entries_of(db, world.expert_a.id)
    assert entry["status"] == "submitted"

    await _decide(live_server, world, entry, "return", "初诊人数与门诊日志不符，请核对")
    await sync_now(page)
    card = page.locator(f"article.entry[data-entry-id='{entry['id']}']")
    await card.locator(".comment").wait_for()
    assert await card.get_attribute("data-status") == "returned"
    assert "初诊人数与门诊日志不符" in (await card.locator(".comment").text_content() or "")
    await screenshot(page, "app/week-returned")

    await card.locator("button.edit").click()
    await fill(page, {"fields.patients_first_visit": "15"})
    await after_sync(page, page.click("form.entry-form button[type=submit]"))
    await after_sync(page, card.locator("button.submit").click())  # 重新提交
    [entry] = await entries_of(db, world.expert_a.id)
    assert entry["status"] == "submitted"
    assert entry["fields"]["patients_first_visit"] == 15

    await _decide(live_server, world, entry, "approve", None)
    await sync_now(page)
    await page.wait_for_selector(f"article.entry[data-entry-id='{entry['id']}'][data-status=approved]")
    assert await card.locator("button.edit").count() == 0
    assert await card.locator("button.revise").count() == 1
    await page.goto(f"/app/#/edit/{entry['id']}")  # not even by its address
    await page.wait_for_selector(".not-editable")
    assert await page.locator("form.entry-form").count() == 0
    [entry] = await entries_of(db, world.expert_a.id)
    assert (entry["status"], entry["fields"]["patients_first_visit"]) == ("approved", 15)

    # A correction of an approved entry is a revision: a new draft that needs approval again.
    await page.click("a[href='#/week']")
    await card.locator("button.revise").click()
    await fill(page, {"fields.patients_first_visit": "16"})
    await page.click("form.entry-form button[type=submit]")
    await page.wait_for_selector("article.entry[data-status=draft]")
    revisions = await rows(db, "SELECT status, fields, revision_of FROM entries WHERE revision_of = :e", e=entry["id"])
    assert [(r["status"], r["fields"]["patients_first_visit"]) for r in revisions] == [("draft", 16)]


async def test_a_conflict_shows_both_versions_and_the_kept_one_reaches_the_server(
        context: Any, world: Any, db: Any, live_server: LiveServer) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    await after_sync(page, new_entry(page, "clinic", {"fields.session": "am", "fields.patients_first_visit": "12",
                                                      "fields.patients_follow_up": "3"}))
    [entry] = await entries_of(db, world.expert_a.id)

    # The same expert changes the entry from another device: first visits 20, follow-ups 4.
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        other = await login(api, world.expert_a.username, device_id="second-device-001")
        response = await api.patch(f"/api/v1/entries/{entry['id']}", headers={**other["headers"], "If-Match": '"1"'},
                                   json={"fields": {**entry["fields"], "patients_first_visit": 20,
                                                    "patients_follow_up": 4}})
        assert response.status_code == 200, response.text

    # The phone, which has not pulled that yet, changes first visits to 15.
    await page.click("a[href='#/week']")
    await page.locator(f"article.entry[data-entry-id='{entry['id']}'] button.edit").click()
    await fill(page, {"fields.patients_first_visit": "15"})
    await after_sync(page, page.click("form.entry-form button[type=submit]"))
    conflict = page.locator(f".issue.conflict[data-record-id='{entry['id']}']")
    await conflict.wait_for()
    assert (await conflict.locator("tr.hot td.theirs").text_content(), await conflict.locator("tr.hot td.mine").text_content()) == ("20", "15")
    await screenshot(page, "app/conflict")
    [server] = await entries_of(db, world.expert_a.id)
    assert server["fields"]["patients_first_visit"] == 20  # nothing of the conflicting change was applied

    await after_sync(page, conflict.locator("button.keep-mine").click())
    [server] = await entries_of(db, world.expert_a.id)
    # The expert's value wins; the key only the other device changed keeps the server's value.
    assert (server["fields"]["patients_first_visit"], server["fields"]["patients_follow_up"]) == (15, 4)
    assert server["version"] == 3
    assert await page.locator(".issue.conflict").count() == 0
