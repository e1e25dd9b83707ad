"""Admins configure robots and rules per institution; every user sets their own preferences; admins read the log."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import writer as audit
from backend.auth.principal import Principal
from backend.errors import FieldError, InvalidInput, NotFound
from backend.models import (
    Institution,
    NotifyChannel,
    NotifyDelivery,
    NotifyPreference,
    NotifyRuleSetting,
    User,
)
from backend.notifications import schemas as s
from backend.notifications.channels.safety import url_problems
from backend.notifications.evaluate import effective
from backend.notifications.rules.schedule import DEFAULTS
from backend.settings import Settings


def mask(url: str) -> str:
    """Scheme, host and path only: the query holds the robot's key."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "***" if parts.query else "", ""))


def channel_view(c: NotifyChannel) -> s.Channel:
    return s.Channel(id=c.id, institution_id=c.institution_id, kind=c.kind, url_masked=mask(c.url),  # type: ignore[arg-type]
                     has_secret=bool(c.secret), enabled=c.enabled, updated_at=c.updated_at)


async def _institution(session: AsyncSession, institution_id: uuid.UUID) -> Institution:
    inst = await session.get(Institution, institution_id)
    if inst is None:
        raise NotFound("No such institution")
    return inst


async def list_channels(session: AsyncSession, institution_id: uuid.UUID | None) -> list[s.Channel]:
    query = select(NotifyChannel).order_by(NotifyChannel.institution_id, NotifyChannel.kind)
    if institution_id is not None:
        query = query.where(NotifyChannel.institution_id == institution_id)
    return [channel_view(c) for c in (await session.execute(query)).scalars()]


async def put_channel(session: AsyncSession, admin: Principal, settings: Settings, institution_id: uuid.UUID,
                      kind: str, data: s.ChannelPut) -> s.Channel:
    await _institution(session, institution_id)
    if kind not in ("wecom", "dingtalk", "webhook"):
        raise NotFound("No such channel kind (wecom, dingtalk, webhook)")
    problems = await url_problems(data.url, settings.notify_allow_hosts)
    if problems:
        raise InvalidInput("The robot URL cannot be used", errors=problems)
    values = {"url": data.url, "enabled": data.enabled, "updated_at": func.now()}
    if data.secret is not None:
        values["secret"] = data.secret
    row = (await session.execute(
        pg_insert(NotifyChannel).values(id=uuid.uuid4(), institution_id=institution_id, kind=kind, **values)
        .on_conflict_do_update(index_elements=["institution_id", "kind"], set_=values)
        .returning(NotifyChannel))).scalar_one()
    await session.refresh(row)
    # The audit trail records that the channel changed, never the URL's key or the secret.
    await audit.record(session, admin, "notify.channel.put", "notify_channel", str(row.id),
                       after={"institution_id": institution_id, "kind": kind, "host": urlsplit(data.url).hostname,
                              "enabled": data.enabled, "secret_changed": data.secret is not None},
                       institution_id=institution_id, role="admin")
    return channel_view(row)


async def delete_channel(session: AsyncSession, admin: Principal, institution_id: uuid.UUID, kind: str) -> None:
    """Remove the robot; messages already logged for it fail with `channel_removed_or_disabled`."""
    row = (await session.execute(select(NotifyChannel).where(
        NotifyChannel.institution_id == institution_id, NotifyChannel.kind == kind))).scalar_one_or_none()
    await _institution(session, institution_id)
    if row is None:
        return  # already gone: deleting is idempotent
    await session.delete(row)
    await audit.record(session, admin, "notify.channel.delete", "notify_channel", str(row.id),
                       after={"institution_id": institution_id, "kind": kind}, institution_id=institution_id,
                       role="admin")


def rule_view(rule: str, row: NotifyRuleSetting | None, tz: str) -> s.RuleView:
    rs = effective(rule, row, tz)
    return s.RuleView(rule=rule, enabled=rs.enabled, threshold_days=rs.threshold_days,  # type: ignore[arg-type]
                      send_hour=rs.send_hour, quiet_start=rs.quiet_start, quiet_end=rs.quiet_end,
                      skip_weekends=rs.skip_weekends, timezone=rs.timezone, cadence=rs.cadence,  # type: ignore[arg-type]
                      customised=row is not None)


async def list_rules(session: AsyncSession, institution_id: uuid.UUID) -> list[s.RuleView]:
    inst = await _institution(session, institution_id)
    rows = {r.rule: r for r in (await session.execute(
        select(NotifyRuleSetting).where(NotifyRuleSetting.institution_id == institution_id))).scalars()}
    return [rule_view(rule, rows.get(rule), inst.timezone) for rule in DEFAULTS]


async def put_rule(session: AsyncSession, admin: Principal, institution_id: uuid.UUID, rule: str,
                   data: s.RulePut) -> s.RuleView:
    inst = await _institution(session, institution_id)
    if rule not in DEFAULTS:
        raise NotFound("No such rule")
    if data.timezone is not None:
        try:
            ZoneInfo(data.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(errors=[FieldError(field="timezone", code="unknown_timezone",
                                                  message="not an IANA time zone")]) from None
    if (data.quiet_start is None) != (data.quiet_end is None):
        raise InvalidInput(errors=[FieldError(field="quiet_end", code="quiet_hours_pair",
                                              message="give both quiet_start and quiet_end, or neither")])
    defaults = DEFAULTS[rule]
    values = {"enabled": data.enabled, "threshold_days": data.threshold_days,
              "send_hour": data.send_hour if data.send_hour is not None else defaults.send_hour,
              "quiet_start": data.quiet_start, "quiet_end": data.quiet_end,
              "skip_weekends": data.skip_weekends if data.skip_weekends is not None else defaults.skip_weekends,
              "timezone": data.timezone, "updated_at": func.now()}
    row = (await session.execute(
        pg_insert(NotifyRuleSetting).values(institution_id=institution_id, rule=rule, **values)
        .on_conflict_do_update(index_elements=["institution_id", "rule"], set_=values)
        .returning(NotifyRuleSetting))).scalar_one()
    await audit.record(session, admin, "notify.rule.put", "notify_rule", f"{institution_id}:{rule}",
                       after={k: v for k, v in values.items() if k != "updated_at"}, institution_id=institution_id,
                       role="admin")
    return rule_view(rule, row, inst.timezone)


async def get_preferences(session: AsyncSession, principal: Principal) -> s.Preferences:
    row = await session.get(NotifyPreference, principal.user_id)
    if row is None:
        return s.Preferences()
    return s.Preferences(channel=row.channel, email=row.email, digests=row.digests)  # type: ignore[arg-type]


async def put_preferences(session: AsyncSession, principal: Principal, data: s.Preferences) -> s.Preferences:
    if data.channel == "email" and not data.email:
        raise InvalidInput(errors=[FieldError(field="email", code="required",
                                              message="an e-mail address is needed for the email channel")])
    values = {"channel": data.channel, "email": data.email, "digests": data.digests, "updated_at": func.now()}
    await session.execute(pg_insert(NotifyPreference).values(user_id=principal.user_id, **values)
                          .on_conflict_do_update(index_elements=["user_id"], set_=values))
    return data


async def deliveries(session: AsyncSession, *, status: str | None, rule: str | None, limit: int) -> s.DeliveryPage:
    query = (select(NotifyDelivery, User.name).outerjoin(User, User.id == NotifyDelivery.recipient_id)
             .order_by(NotifyDelivery.created_at.desc()).limit(limit))
    if status is not None:
        query = query.where(NotifyDelivery.status == status)
    if rule is not None:
        query = query.where(NotifyDelivery.rule == rule)
    counts = dict((await session.execute(select(NotifyDelivery.status, func.count()).group_by(NotifyDelivery.status)
                                         .where(NotifyDelivery.created_at > func.now() - func.make_interval(0, 0, 0, 7)))
                   ).all())
    items = [s.Delivery(id=d.id, rule=d.rule, period=d.period, institution_id=d.institution_id,
                        recipient_id=d.recipient_id, recipient_name=name, channel=d.channel, status=d.status,  # type: ignore[arg-type]
                        reason=d.reason, attempts=d.attempts, provider_status=d.provider_status,
                        provider_answer=d.provider_answer, title=d.title, created_at=d.created_at, sent_at=d.sent_at,
                        next_attempt_at=d.next_attempt_at)
             for d, name in (await session.execute(query)).all()]
    return s.DeliveryPage(counts={k: int(v) for k, v in counts.items()}, items=items)


