"""The admin's jobs page in the console: the queue, the periodic ticks and the delivery log as they are."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.export.jobs import enqueue_export
from backend.models import ExportJob, NotifyDelivery
from tests.browser.conftest import screenshot
from tests.browser.test_console_phone import sign_in


async def test_the_admin_sees_queued_jobs_and_failed_deliveries_with_the_providers_answer(
    page: Any, world: Any, session: AsyncSession
) -> None:
    from datetime import date

    export = ExportJob(id=uuid.uuid4(), expert_id=world.expert_a.id, requested_by=world.hr.id,
                       date_from=date(2025, 1, 1), date_to=date(2025, 1, 31), formats=["pdf"], status="queued",
                       progress=0, verification_code="JOBSPAGE0001")
    session.add(export)
    await session.flush()
    await enqueue_export(session, export.id)
    session.add(NotifyDelivery(idempotency_key="k1", rule="supervisor_digest", period="2026-12-07",
                               institution_id=world.hospital_a.id, recipient_id=world.supervisor_a.id,
                               channel="dingtalk", status="failed", reason="provider_error_310000", attempts=1,
                               provider_status=200, provider_answer='{"errcode":310000,"errmsg":"sign not match"}',
                               title="甲县人民医院 今日审核提醒", body="待审核 3 条", link="http://c/#/review"))
    await session.commit()
    await sign_in(page, world.admin.username, route="#/admin/jobs")
    await page.wait_for_selector("text=通知发送记录")
    text = await page.inner_text(".view")
    assert "export.render" in text
    assert "排队" in text
    assert "审核甲" in text
    assert "provider_error_310000" in text
    assert "sign not match" in text
    await screenshot(page, "console-jobs")


async def test_the_admin_puts_a_failed_job_back_on_the_queue_from_the_jobs_page(
    page: Any, world: Any, db: Any, session: AsyncSession
) -> None:
    from datetime import timedelta

    from sqlalchemy import text

    from backend.jobs import Job, JobContext, Registry, enqueue
    from backend.jobs.worker import drain

    async def down(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise RuntimeError("provider down")

    job_id = await enqueue(session, "notify.deliver", {"delivery_id": str(uuid.uuid4())})
    await session.commit()
    await drain(db, Registry.of([Job("notify.deliver", down, max_attempts=1, first_retry=timedelta(0))]))
    await sign_in(page, world.admin.username, route="#/admin/jobs")
    button = page.locator(f"button[data-retry='{job_id}']")
    await button.wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    await button.click()
    await page.wait_for_selector(f"text=任务 #{job_id} 已重新排队")
    assert await page.locator(f"button[data-retry='{job_id}']").count() == 0  # no longer among the failures
    row = (await session.execute(text("SELECT status::text, attempts FROM jobs.pgqueuer WHERE id = :id"),
                                 {"id": job_id})).one()
    assert (row[0], row[1]) == ("queued", 0)
    await screenshot(page, "console-jobs-retried")
