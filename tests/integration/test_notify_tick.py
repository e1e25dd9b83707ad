"""The tick on a real PostgreSQL with a controlled clock: rules read their facts, and racing workers send once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.job_catalog import NOTIFY_TICK, core_registry, drain
from backend.jobs import JobContext, enqueue
from backend.jobs.worker import Worker
from backend.models import Entry, MonthClosure, NotifyChannel, NotifyDelivery, NotifyRuleSetting
from backend.notifications.evaluate import evaluate, tick
from backend.runtime import Runtime
from tests.factories import make_world
from tests.notify_fakes import FakeProvider, serve_provider

TODAY = date(2026, 12, 7)  # a Monday


def shanghai(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def provider() -> Iterator[tuple[FakeProvider, str]]:
    fake = FakeProvider()
    server, base = serve_provider(fake)
    yield fake, base
    server.shutdown()


async def entry(session: AsyncSession, world: Any, day: date, status: str, *, who: str = "expert_a",
                activity: str = "clinic", **kw: Any) -> Entry:
    expert = getattr(world, who)
    dep = world.deployment_a if who == "expert_a" else world.deployment_a2
    row = Entry(id=uuid.uuid4(), expert_id=expert.id, deployment_id=dep.id, institution_id=dep.recipient_id,
                work_date=day, activity_type=activity, fields={"session": "am", "patients_first_visit": 1},
                content_hash="0" * 64, status=status, **kw)
    session.add(row)
    await session.flush()
    return row


async def logged(session: AsyncSession) -> dict[tuple[str, uuid.UUID | None], NotifyDelivery]:
    rows = (await session.execute(select(NotifyDelivery).execution_options(populate_existing=True))).scalars()
    return {(r.rule, r.recipient_id): r for r in rows}


async def test_two_workers_racing_on_the_same_periodic_tick_send_one_message(
    db: Runtime, session: AsyncSession, provider: tuple[FakeProvider, str]
) -> None:
    fake, base = provider
    world = await make_world(session, today=TODAY)
    await entry(session, world, TODAY - timedelta(days=3), "submitted", submitted_at=shanghai(TODAY, 8) - timedelta(days=3))
    session.add(NotifyChannel(institution_id=world.hospital_a.id, kind="wecom", url=f"{base}/cgi-bin/webhook/send?key=K"))
    # Two nodes' schedulers fired for the same hour (e.g. clocks a little apart): two tick jobs, no dedupe.
    await enqueue(session, NOTIFY_TICK, {"period": "2026-12-07T00"})
    await enqueue(session, NOTIFY_TICK, {"period": "2026-12-07T00"})
    await session.commit()
    at = shanghai(TODAY, 8, 30)  # the supervisor digest's hour
    workers = [Worker(db, core_registry(), schedules=False, now=lambda: at) for _ in range(2)]
    await asyncio.gather(*(w.run(drain=True) for w in workers))
    await drain(db)
    digests = [h for h in fake.hits if "今日审核提醒" in h.body["markdown"]["content"]]
    assert len(digests) == 1
    row = (await logged(session))[("supervisor_digest", world.supervisor_a.id)]
    assert (row.status, row.attempts, row.period) == ("sent", 1, "2026-12-07")
    assert "待审核 1 条，最早的已等 3 天" in row.body


async def test_evaluations_racing_in_two_transactions_log_each_message_once(db: Runtime, session: AsyncSession) -> None:
    world = await make_world(session, today=TODAY)
    await entry(session, world, TODAY - timedelta(days=1), "submitted", submitted_at=shanghai(TODAY, 7))
    await session.commit()
    at = shanghai(TODAY, 8, 30)
    contexts = [JobContext(runtime=db, job_id=n, attempt=1, now=lambda: at) for n in (1, 2)]
    await asyncio.gather(*(tick(ctx, {}) for ctx in contexts))
    rows = (await session.execute(select(NotifyDelivery).where(
        NotifyDelivery.rule == "supervisor_digest", NotifyDelivery.recipient_id == world.supervisor_a.id))).scalars().all()
    assert len(rows) == 1
    assert "待审核 1 条" in rows[0].body
    assert rows[0].status == "suppressed"  # no robot configured at the hospital: logged once, and why
    assert rows[0].reason == "no_channel_configured"


async def test_rules_read_their_facts_and_honour_the_institution_settings(db: Runtime, session: AsyncSession) -> None:
    world = await make_world(session, today=TODAY)
    # expert_a: returned 5 days ago, never fixed; nothing logged since Wednesday; no attendance on Friday.
    await entry(session, world, date(2026, 12, 2), "returned", reviewed_at=shanghai(date(2026, 12, 2), 10))
    # expert_a2 logged on Friday, attended Friday.
    await entry(session, world, date(2026, 12, 4), "approved", who="expert_a2", activity="attendance")
    # October at hospital A: all reviewed, past the 30-day grace by December: closable. November is not.
    await entry(session, world, date(2026, 10, 15), "approved", who="expert_a2")
    await entry(session, world, date(2026, 11, 15), "approved", who="expert_a2")
    await session.commit()

    # At 08:59 only the 08:00 supervisor digest (phones not synced at both hospitals) and the admin's monthly
    # list (due since the 1st) are due; returned work (09:00) and the silent-expert reminder (19:00) wait.
    morning = await evaluate(session, db.settings, shanghai(TODAY, 8, 59))
    await session.commit()
    assert morning == 3
    assert {rule for rule, _ in await logged(session)} == {"supervisor_digest", "admin_months"}
    tuesday = TODAY + timedelta(days=1)
    created = await evaluate(session, db.settings, shanghai(tuesday, 19, 30))
    await session.commit()
    rows = await logged(session)
    returned = rows[("expert_returned", world.expert_a.id)]
    assert "1 条记录被退回" in returned.title
    assert "已退回 6 天" in returned.body  # returned on Wednesday 10:00, now Tuesday 19:30
    silent = rows[("expert_silent", world.expert_a.id)]
    assert "已连续 3 个工作日没有填写工作日志" in silent.body  # Thu, Fri, Mon
    assert "昨天（12月07日）没有考勤记录" in silent.body
    assert "已连续" not in rows[("expert_silent", world.expert_a2.id)].body  # logged Friday: Monday only
    hr = rows[("hr_digest", world.hr.id)]
    assert "专家甲：被退回 1" in hr.body
    months = rows[("admin_months", world.admin.id)]
    assert "2026年10月" in months.body
    assert "2026年11月" not in months.body
    total = len((await session.execute(select(NotifyDelivery.id))).all())
    assert created == total - morning
    assert await evaluate(session, db.settings, shanghai(tuesday, 20)) == 0  # same day: nothing new

    # An admin turns the silent-expert rule off at hospital A and closes October: tomorrow neither comes.
    session.add(NotifyRuleSetting(institution_id=world.hospital_a.id, rule="expert_silent", enabled=False))
    session.add(MonthClosure(institution_id=world.hospital_a.id, month=date(2026, 10, 1), closed_by=world.admin.id))
    await session.commit()
    await evaluate(session, db.settings, shanghai(tuesday + timedelta(days=1), 19, 30))
    await session.commit()
    tomorrow = {k: r for k, r in (await logged(session)).items() if r.period == "2026-12-09"}
    assert ("expert_returned", world.expert_a.id) in tomorrow  # a daily notice until it is fixed
    silent_at = {r.institution_id for (rule, _), r in tomorrow.items() if rule == "expert_silent"}
    assert silent_at == {world.hospital_b.id}  # still on at the other hospital
