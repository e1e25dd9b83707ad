"""The delivery log: recording a notice once (idempotency key), and sending one logged message with retries.

A notice is inserted with `ON CONFLICT (idempotency_key) DO NOTHING`: when two workers evaluate the same rule
for the same period, the unique constraint lets exactly one row (and one delivery job) through. Each message is
its own job, so a failing channel (a robot answering 500) only delays its own messages. Sending holds the row
lock: a second delivery of the same message waits or skips. A worker killed after the provider accepted but
before the commit would send again on retry (at-least-once in that window; the providers have no idempotency
key to pass).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from pgqueuer.domain.errors import RetryRequested
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.jobs.queue import enqueue
from backend.jobs.registry import JobContext
from backend.models import NotifyChannel, NotifyDelivery, NotifyPreference
from backend.notifications.channels.base import Message, Outcome
from backend.notifications.channels.email import send_email
from backend.notifications.channels.robots import send_http
from backend.notifications.channels.safety import url_problems
from backend.notifications.routing import Preference, Route, choose
from backend.notifications.rules.schedule import Notice
from backend.settings import Settings

log = logging.getLogger("fieldlog.notify")

DELIVER = "notify.deliver"
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential from 30 s, capped at an hour, and never sooner than the provider's Retry-After."""
    delay = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY))
    return delay


async def robots_of(session: AsyncSession, institution_id: uuid.UUID) -> dict[str, uuid.UUID]:
    rows = await session.execute(select(NotifyChannel.kind, NotifyChannel.id).where(
        NotifyChannel.institution_id == institution_id, NotifyChannel.enabled.is_(True)))
    return {kind: cid for kind, cid in rows}


async def preferences(session: AsyncSession, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, Preference]:
    if not user_ids:
        return {}
    rows = (await session.execute(select(NotifyPreference).where(NotifyPreference.user_id.in_(user_ids)))).scalars()
    return {p.user_id: Preference(channel=p.channel, email=p.email, digests=p.digests) for p in rows}


async def record(session: AsyncSession, notices: list[Notice], settings: Settings) -> list[uuid.UUID]:
    """Log each notice once and queue its delivery; returns the ids of the rows this call created."""
    if not notices:
        return []
    robots: dict[uuid.UUID, dict[str, uuid.UUID]] = {}
    prefs = await preferences(session, {n.recipient_id for n in notices})
    created = []
    for notice in notices:
        if notice.institution_id not in robots:
            robots[notice.institution_id] = await robots_of(session, notice.institution_id)
        route: Route = choose(prefs.get(notice.recipient_id), robots[notice.institution_id], digest=notice.digest,
                              smtp_ready=bool(settings.smtp_host))
        row = await session.execute(
            pg_insert(NotifyDelivery).values(
                id=uuid.uuid4(), idempotency_key=notice.idempotency_key, rule=notice.rule, period=notice.period,
                institution_id=notice.institution_id, recipient_id=notice.recipient_id, channel=route.channel,
                channel_id=route.channel_id, address=route.address,
                status="suppressed" if route.suppressed else "pending", reason=route.suppressed,
                title=notice.message.title, body=notice.message.body, link=notice.message.link,
            ).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(NotifyDelivery.id))
        delivery_id = row.scalar_one_or_none()
        if delivery_id is None:
            continue  # this rule and period already reached this person (or another worker is recording it)
        created.append(delivery_id)
        if not route.suppressed:
            await enqueue(session, DELIVER, {"delivery_id": str(delivery_id)}, dedupe_key=f"{DELIVER}:{delivery_id}")
    return created


async def _send(settings: Settings, row: NotifyDelivery, channel: NotifyChannel | None) -> Outcome:
    message = Message(title=row.title, body=row.body, link=row.link)
    if row.channel == "email":
        return await send_email(settings, row.address or "", message)
    if channel is None or not channel.enabled:
        return Outcome.fail("channel_removed_or_disabled")
    if await url_problems(channel.url, settings.notify_allow_hosts):
        return Outcome.fail("unsafe_url")  # the name may have been re-pointed at a private address since
    return await send_http(channel.kind, channel.url, channel.secret, message, rule=row.rule,
                           seconds=settings.notify_timeout_seconds)


async def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Send one pending message; log the attempt; ask the queue to retry later when the provider may recover."""
    settings = ctx.runtime.settings
    retry: timedelta | None = None
    async with ctx.runtime.sessionmaker() as session, session.begin():
        row = (await session.execute(
            select(NotifyDelivery).where(NotifyDelivery.id == uuid.UUID(payload["delivery_id"]),
                                         NotifyDelivery.status == "pending")
            .with_for_update(skip_locked=True))).scalar_one_or_none()
        if row is None:
            return  # sent, failed or suppressed already, or being sent by another worker right now
        channel = await session.get(NotifyChannel, row.channel_id) if row.channel_id else None
        outcome = await _send(settings, row, channel)
        now: datetime = ctx.now()
        row.attempts += 1
        row.provider_status = outcome.status
        row.provider_answer = outcome.answer or None
        row.reason = outcome.reason
        row.updated_at = now
        if outcome.sent:
            row.status, row.sent_at, row.next_attempt_at = "sent", now, None
        elif outcome.retryable and row.attempts < MAX_ATTEMPTS:
            retry = backoff(row.attempts, outcome.retry_after)
            row.next_attempt_at = now + retry
        else:
            row.status, row.next_attempt_at = "failed", None
        log.info("notification %s via %s: %s (attempt %s%s)", row.id, row.channel,
                 row.status if row.status != "pending" else "retry", row.attempts,
                 f", {outcome.reason}" if outcome.reason else "")
    if retry is not None:
        raise RetryRequested(delay=retry, reason="provider asked to retry")
