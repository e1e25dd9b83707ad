"""Supervisors approve from their phones: the console's review queue at 390×844 (and 360) is a list of cards
with the approve / return bar fixed at the bottom, and what is decided there lands in the database."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from playwright.async_api import Locator, Page
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Entry
from tests.browser.conftest import PhoneContext, screenshot
from tests.factories import PASSWORD, World

TODAY = date.today()
SURGERY = {"procedure_name": "腹腔镜胆囊切除术", "procedure_code": "51.23", "grade": "grade_3", "role": "primary",
           "local_surgeon_role": "first_assistant", "urgency": "elective", "duration_minutes": 95}
CLINIC = {"session": "am", "patients_first_visit": 12, "patients_follow_up": 5}
COMMENT = "初诊人数与门诊日志不符，请核对后重新提交"


async def submit(client: Any, world: World, who: str, activity_type: str, fields: dict[str, Any],
                 days_ago: int) -> str:
    """An entry made and submitted by an expert through the API; returns its id."""
    deployment = getattr(world, who.replace("expert", "deployment"))
    headers = await world.headers(client, who)
    body = {"id": str(uuid.uuid4()), "deployment_id": str(deployment.id), "activity_type": activity_type,
            "work_date": (TODAY - timedelta(days=days_ago)).isoformat(), "fields": fields}
    r = await client.post("/api/v1/entries", json=body, headers=headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/entries/{body['id']}/submit", json={"expected_version": r.json()["version"]},
                          headers=headers)
    assert r.status_code == 200, r.text
    return body["id"]


async def submitted_revision(client: Any, world: World) -> str:
    """An approved surgery's revision, submitted: its card carries the 更正 revision badge."""
    original = await submit(client, world, "expert_a", "surgery", SURGERY, days_ago=4)
    version = (await client.get(f"/api/v1/entries/{original}", headers=await world.headers(client, "expert_a"))
               ).json()["version"]
    r = await client.post("/api/v1/review/decisions", headers=await world.headers(client, "supervisor_a"),
                          json={"decisions": [{"entry_id": original, "version": version, "action": "approve"}]})
    assert r.json()["results"][0]["outcome"] == "applied", r.text
    headers = await world.headers(client, "expert_a")
    body = {"id": str(uuid.uuid4()), "deployment_id": str(world.deployment_a.id), "activity_type": "surgery",
            "work_date": (TODAY - timedelta(days=4)).isoformat(), "fields": {**SURGERY, "grade": "grade_4"}}
    r = await client.post(f"/api/v1/entries/{original}/revisions", json=body, headers=headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/entries/{body['id']}/submit", json={"expected_version": r.json()["version"]},
                          headers=headers)
    assert r.status_code == 200, r.text
    return body["id"]


async def sign_in(page: Page, username: str, route: str = "#/review") -> None:
    await page.goto("/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.get_by_role("button", name="登录 Sign in").click()
    await page.wait_for_selector(".view h1")
    if route:
        await page.goto("/" + route)


async def box(locator: Locator) -> dict[str, float]:
    """Where an element is drawn (it must be drawn)."""
    rect = await locator.bounding_box()
    assert rect is not None, f"{locator} is not drawn"
    return dict(rect)


def card(page: Page, entry_id: str) -> Locator:
    return page.locator(f'tr.entry[data-entry-id="{entry_id}"]')


async def status_of(session: AsyncSession, entry_id: str) -> Entry:
    """The entry as the database has it now (not as the session last saw it)."""
    query = select(Entry).where(Entry.id == uuid.UUID(entry_id)).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one()


async def assert_phone_layout(page: Page) -> None:
    """No sideways scrolling, every card inside the screen, the action bar fixed to the bottom edge."""
    width = await page.evaluate("innerWidth")
    height = await page.evaluate("innerHeight")
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= width
    bar = page.locator(".review-page .action-bar")
    assert await bar.evaluate("el => getComputedStyle(el).position") == "fixed"
    rect = await box(bar)
    assert abs(rect["y"] + rect["height"] - height) <= 1
    assert rect["width"] == width
    for button in ("批量通过 Approve", "退回修改 Return"):
        assert await page.get_by_role("button", name=button).is_visible()
    # Rows are cards: no table header to read across, and each card fits the screen with a readable summary.
    assert not await page.locator(".queue-table thead th:not(.c-check)").first.is_visible()
    for row in await page.locator("tr.entry").all():
        assert await row.evaluate("el => getComputedStyle(el).display") == "grid"
        rect = await box(row)
        assert rect["x"] >= 0
        assert rect["x"] + rect["width"] <= width
        assert (await box(row.locator(".c-summary")))["width"] >= width * 0.6  # not a column of single characters


async def test_supervisor_approves_with_a_correction_and_returns_with_a_comment_at_390(
        page: Page, client: Any, world: World, session: AsyncSession) -> None:
    surgery = await submit(client, world, "expert_a", "surgery", SURGERY, days_ago=2)
    clinic = await submit(client, world, "expert_a", "clinic", CLINIC, days_ago=3)
    untouched = await submit(client, world, "expert_a2", "clinic", CLINIC, days_ago=2)
    await sign_in(page, world.supervisor_a.username)
    await page.wait_for_selector("tr.entry")
    assert await page.locator("tr.entry").count() == 3
    await assert_phone_layout(page)

    # The surgery's correction controls sit inside its card, on screen, not in a cut-off column.
    grade = card(page, surgery).get_by_label("分级")
    await grade.scroll_into_view_if_needed()
    g = await box(grade)
    assert g["x"] + g["width"] <= await page.evaluate("innerWidth")
    assert await card(page, clinic).locator(".c-correction").is_hidden()  # nothing to correct on a clinic
    await screenshot(page, "console/review-queue-390")

    await grade.select_option("grade_4")
    await card(page, surgery).locator(".c-check input").tap()
    assert await page.locator(".selected-count").text_content() == "已选 1 条"
    await page.get_by_role("button", name="批量通过 Approve").tap()
    await page.wait_for_selector(".bar-status:text('通过：1 / 1 条已处理')")
    await card(page, surgery).wait_for(state="detached")

    # Returning needs a comment: without one nothing is sent and the entry stays submitted.
    await card(page, clinic).locator(".c-check input").tap()
    await page.get_by_role("button", name="退回修改 Return").tap()
    await page.wait_for_selector(".action-bar .field-error:text('退回时必须填写意见')")
    assert (await status_of(session, clinic)).status == "submitted"
    await page.fill("#review-comment", COMMENT)
    await screenshot(page, "console/review-return-390")
    await page.get_by_role("button", name="退回修改 Return").tap()
    await page.wait_for_selector(".bar-status:text('退回：1 / 1 条已处理')")
    await card(page, clinic).wait_for(state="detached")
    await assert_phone_layout(page)
    await screenshot(page, "console/review-done-390")

    approved = await status_of(session, surgery)
    assert (approved.status, approved.fields["grade"], approved.fields["role"]) == ("approved", "grade_4", "primary")
    assert approved.reviewed_by == world.supervisor_a.id
    returned = await status_of(session, clinic)
    assert (returned.status, returned.review_comment, returned.reviewed_by) == (
        "returned", COMMENT, world.supervisor_a.id)
    assert (await status_of(session, untouched)).status == "submitted"


async def test_at_360_the_last_card_scrolls_clear_of_the_bar_and_select_all_works(
        phone_context: PhoneContext, client: Any, world: World, session: AsyncSession) -> None:
    ids = [await submit(client, world, "expert_a", "clinic", CLINIC, days_ago=d) for d in range(1, 7)]
    ids.append(await submitted_revision(client, world))  # the widest card head: date, type, badge, days
    ctx = await phone_context(viewport={"width": 360, "height": 740}, screen={"width": 360, "height": 740})
    page = await ctx.new_page()
    await sign_in(page, world.supervisor_a.username)
    await page.wait_for_selector("tr.entry")
    await assert_phone_layout(page)
    assert await page.locator("tr.entry .badge", has_text="更正 revision").is_visible()
    await page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    last = await box(page.locator("tr.entry").last)
    assert last["y"] + last["height"] <= (await box(page.locator(".review-page .action-bar")))["y"]
    await screenshot(page, "console/review-queue-360-bottom")

    # The filters fold behind one button on a phone and open on a tap.
    hospital = page.locator(".review-filters select[name=institution_id]")
    assert await hospital.is_hidden()
    await page.get_by_role("button", name="筛选 Filter").tap()
    assert await hospital.is_visible()
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= 360

    groups = await page.get_by_label("全选本组 select group").all()  # one per ISO week
    assert len(groups) >= 1
    for select_all in groups:
        await select_all.tap()
    assert await page.locator(".selected-count").text_content() == f"已选 {len(ids)} 条"
    await page.get_by_role("button", name="批量通过 Approve").tap()
    await page.wait_for_selector(f".bar-status:text('通过：{len(ids)} / {len(ids)} 条已处理')")
    rows = (await session.execute(select(Entry.status).where(Entry.id.in_([uuid.UUID(i) for i in ids])))).scalars()
    assert sorted(rows) == ["approved"] * len(ids)


async def test_the_expert_page_reads_as_cards_on_a_phone(page: Page, client: Any, world: World) -> None:
    await submit(client, world, "expert_a", "clinic", CLINIC, days_ago=2)
    await sign_in(page, world.supervisor_a.username, route="#/experts")
    expert_link = page.get_by_role("link", name=world.expert_a.name, exact=True)
    await expert_link.wait_for()
    assert await page.locator(".cards thead").first.is_hidden()
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= 390
    await screenshot(page, "console/experts-390")
    await expert_link.tap()
    await page.wait_for_selector(".service")
    deployment = page.locator(".cards tbody tr").first
    assert await deployment.locator("td").first.get_attribute("data-label") == "受援医院"
    assert await deployment.locator("td").first.evaluate("el => getComputedStyle(el, '::before').content") \
        == '"受援医院"'
    assert world.hospital_a.name in (await deployment.text_content() or "")
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= 390
    await screenshot(page, "console/expert-390")


async def test_on_a_desktop_the_queue_stays_a_table_with_the_bar_on_top(
        phone_context: PhoneContext, client: Any, world: World) -> None:
    await submit(client, world, "expert_a", "surgery", SURGERY, days_ago=2)
    ctx = await phone_context(viewport={"width": 1280, "height": 900}, screen={"width": 1280, "height": 900},
                              is_mobile=False, has_touch=False)
    page = await ctx.new_page()
    await sign_in(page, world.supervisor_a.username)
    row = page.locator("tr.entry").first
    await row.wait_for()
    assert await row.evaluate("el => getComputedStyle(el).display") == "table-row"
    assert await page.locator(".queue-table thead th", has_text="手术纠正 correction").is_visible()
    assert await page.locator(".review-page .action-bar").evaluate("el => getComputedStyle(el).position") == "sticky"
    assert await page.locator(".bar-status").is_hidden()
    assert await page.locator(".filters-toggle").is_hidden()
    assert await page.locator(".review-filters select[name=institution_id]").is_visible()
