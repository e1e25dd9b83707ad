"""Messages through real local servers: WeCom/DingTalk stand-ins with faults, SMTP with STARTTLS, the log."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.job_catalog import drain
from backend.models import NotifyChannel, NotifyDelivery, NotifyPreference
from backend.notifications.channels.base import Message
from backend.notifications.delivery import record
from backend.notifications.rules.schedule import Notice
from backend.runtime import Runtime
from tests.notify_fakes import FakeProvider, serve_provider, start_smtp


@pytest.fixture
def provider() -> Iterator[tuple[FakeProvider, str]]:
    fake = FakeProvider(dingtalk_secret="SEC-test-secret-0123456789")
    server, base = serve_provider(fake)
    yield fake, base
    server.shutdown()


def notice(world: Any, who: str = "supervisor_a", rule: str = "supervisor_digest", period: str = "2026-12-07",
           digest: bool = True) -> Notice:
    return Notice(rule=rule, institution_id=world.hospital_a.id, recipient_id=getattr(world, who).id,
                  period=period, digest=digest,
                  message=Message(title="甲县人民医院 今日审核提醒", body="待审核 3 条", link="http://c/#/review"))


async def robot(session: AsyncSession, world: Any, kind: str, url: str, secret: str | None = None) -> NotifyChannel:
    channel = NotifyChannel(id=uuid.uuid4(), institution_id=world.hospital_a.id, kind=kind, url=url, secret=secret)
    session.add(channel)
    await session.flush()
    return channel


async def deliveries(session: AsyncSession) -> list[NotifyDelivery]:
    query = select(NotifyDelivery).order_by(NotifyDelivery.created_at).execution_options(populate_existing=True)
    return list((await session.execute(query)).scalars())


async def release_retries(session: AsyncSession) -> None:
    """Move the queue's clock: retries scheduled for later become due now."""
    await session.execute(text("UPDATE jobs.pgqueuer SET execute_after = now() WHERE status = 'queued'"))
    await session.commit()


async def test_wecom_robot_gets_one_markdown_message_and_the_log_says_sent(
    db: Runtime, session: AsyncSession, world: Any, provider: tuple[FakeProvider, str],
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, base = provider
    await robot(session, world, "wecom", f"{base}/cgi-bin/webhook/send?key=ROBOT-KEY-4242")
    await record(session, [notice(world)], db.settings)
    await record(session, [notice(world)], db.settings)  # the same rule and period again: nothing new
    await session.commit()
    await drain(db)
    [hit] = fake.hits
    assert hit.query["key"] == ["ROBOT-KEY-4242"]
    assert "ROBOT-KEY-4242" not in caplog.text  # the robot URL's key is a secret: never logged
    assert hit.body["msgtype"] == "markdown"
    assert "待审核 3 条" in hit.body["markdown"]["content"]
    [row] = await deliveries(session)
    assert (row.status, row.channel, row.attempts, row.provider_status) == ("sent", "wecom", 1, 200)
    assert '"errcode": 0' in (row.provider_answer or "")


async def test_dingtalk_is_signed_with_timestamp_and_secret_and_a_wrong_secret_fails_without_retry(
    db: Runtime, session: AsyncSession, world: Any, provider: tuple[FakeProvider, str]
) -> None:
    fake, base = provider
    channel = await robot(session, world, "dingtalk", f"{base}/robot/send?access_token=T1", fake.dingtalk_secret)
    await record(session, [notice(world, period="p1")], db.settings)
    await session.commit()
    await drain(db)
    assert fake.hits[0].query["access_token"] == ["T1"]
    assert fake.hits[0].body["markdown"]["title"] == "甲县人民医院 今日审核提醒"
    channel.secret = "SEC-wrong"
    await record(session, [notice(world, period="p2")], db.settings)
    await session.commit()
    await drain(db)
    first, second = await deliveries(session)
    assert first.status == "sent"
    assert (second.status, second.reason, second.attempts) == ("failed", "provider_error_310000", 1)
    assert len(fake.hits) == 2


async def test_a_429_is_retried_no_sooner_than_retry_after_then_sent(
    db: Runtime, session: AsyncSession, world: Any, provider: tuple[FakeProvider, str]
) -> None:
    fake, base = provider
    fake.faults = ["429:120", "500"]
    await robot(session, world, "wecom", f"{base}/cgi-bin/webhook/send?key=K")
    await record(session, [notice(world)], db.settings)
    await session.commit()
    before = datetime.now(UTC)
    await drain(db)
    [row] = await deliveries(session)
    assert (row.status, row.attempts, row.provider_status, row.reason) == ("pending", 1, 429, "http_429")
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - before >= timedelta(seconds=119)  # Retry-After beats the 30 s backoff
    due = (await session.execute(text("SELECT execute_after FROM jobs.pgqueuer"))).scalar_one()
    assert due - before >= timedelta(seconds=119)
    await drain(db)  # not due yet: nothing is sent
    assert len(fake.hits) == 1
    await release_retries(session)
    await drain(db)  # 500: retried again
    await release_retries(session)
    await drain(db)
    [row] = await deliveries(session)
    assert (row.status, row.attempts, row.provider_status) == ("sent", 3, 200)
    assert len(fake.hits) == 3


async def test_a_provider_that_hangs_times_out_and_a_failing_channel_does_not_block_others(
    db: Runtime, session: AsyncSession, world: Any, provider: tuple[FakeProvider, str], tmp_path: Path
) -> None:
    fake, base = provider
    fake.faults = ["hang:3"]
    controller, mailbox, port, cert = start_smtp(tmp_path)
    try:
        settings = msgspec.structs.replace(db.settings, notify_timeout_seconds=1, smtp_host="127.0.0.1",
                                           smtp_port=port, smtp_ca_file=cert, smtp_from="fieldlog@test.cn")
        runtime = dataclasses.replace(db, settings=settings)
        await robot(session, world, "wecom", f"{base}/cgi-bin/webhook/send?key=K")
        session.add(NotifyPreference(user_id=world.hr.id, channel="email", email="hr@test.cn"))
        await session.flush()
        await record(session, [notice(world), notice(world, who="hr", rule="hr_digest")], settings)
        await session.commit()
        started = asyncio.get_running_loop().time()
        await drain(runtime)
        assert asyncio.get_running_loop().time() - started < 10
        robot_row, mail_row = sorted(await deliveries(session), key=lambda r: r.channel != "wecom")
        assert (robot_row.status, robot_row.reason, robot_row.attempts) == ("pending", "timeout", 1)
        assert (mail_row.status, mail_row.channel, mail_row.address) == ("sent", "email", "hr@test.cn")
        [mail] = mailbox.messages
        assert mail["tls"] is True  # the server refuses mail before STARTTLS
        assert mail["to"] == ["hr@test.cn"]
        assert "Subject: =?utf-8?" in mail["content"]  # the Chinese subject, encoded
    finally:
        controller.stop()


async def test_opted_out_and_unroutable_messages_are_logged_suppressed_once(
    db: Runtime, session: AsyncSession, world: Any
) -> None:
    session.add(NotifyPreference(user_id=world.supervisor_a.id, channel="auto", digests=False))
    await session.flush()
    await record(session, [notice(world), notice(world, who="expert_a", rule="expert_returned", digest=False)],
                 db.settings)
    await session.commit()
    rows = {r.rule: r for r in await deliveries(session)}
    assert (rows["supervisor_digest"].status, rows["supervisor_digest"].reason) == ("suppressed",
                                                                                    "opted_out_of_digests")
    assert (rows["expert_returned"].status, rows["expert_returned"].reason) == ("suppressed",
                                                                                "no_channel_configured")
    assert (await session.execute(text("SELECT count(*) FROM jobs.pgqueuer"))).scalar_one() == 0


async def test_a_robot_url_repointed_at_a_private_address_is_refused_at_send_time(
    db: Runtime, session: AsyncSession, world: Any
) -> None:
    await robot(session, world, "wecom", "https://10.1.2.3/cgi-bin/webhook/send?key=K")
    await record(session, [notice(world)], db.settings)
    await session.commit()
    await drain(db)
    [row] = await deliveries(session)
    assert (row.status, row.reason) == ("failed", "unsafe_url")


async def test_a_generic_webhook_carries_an_hmac_of_timestamp_and_body(
    db: Runtime, session: AsyncSession, world: Any, provider: tuple[FakeProvider, str]
) -> None:
    import hashlib
    import hmac
    import json

    fake, base = provider
    await robot(session, world, "webhook", f"{base}/hooks/fieldlog", "whsec-0123456789")
    await record(session, [notice(world)], db.settings)
    await session.commit()
    await drain(db)
    [hit] = fake.hits
    ts = hit.headers["X-Fieldlog-Timestamp"]
    expected = hmac.new(b"whsec-0123456789", ts.encode() + b"." + hit.raw, hashlib.sha256).hexdigest()
    assert hit.headers["X-Fieldlog-Signature"] == f"sha256={expected}"
    assert json.loads(hit.raw)["rule"] == "supervisor_digest"
    [row] = await deliveries(session)
    assert row.status == "sent"
