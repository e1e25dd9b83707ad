"""The hourly tick: for each institution and rule that is due now, read the facts, make the notices, log them."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.jobs.registry import JobContext
from backend.models import Institution, NotifyRuleSetting
from backend.notifications import facts
from backend.notifications.delivery import record
from backend.notifications.rules.digests import admin_notices, hr_notices, supervisor_notices
from backend.notifications.rules.experts import returned_notices, silent_notices
from backend.notifications.rules.schedule import DEFAULTS, Notice, RuleSettings, due, local
from backend.settings import Settings

log = logging.getLogger("fieldlog.notify")


def effective(rule: str, row: NotifyRuleSetting | None, institution_tz: str) -> RuleSettings:
    """The rule's defaults, in the institution's time zone, with the admin's overrides on top."""
    base = DEFAULTS[rule].with_overrides(timezone=institution_tz)
    if row is None:
        return base
    return base.with_overrides(enabled=row.enabled, threshold_days=row.threshold_days, send_hour=row.send_hour,
                               quiet_start=row.quiet_start, quiet_end=row.quiet_end,
                               skip_weekends=row.skip_weekends, timezone=row.timezone)


async def notices_for(session: AsyncSession, institution: Institution, rule: str, rs: RuleSettings,
                      settings: Settings, now: datetime) -> list[Notice]:
    today = local(now, rs).date()
    base = settings.public_base_url
    inst = institution.id
    if rule == "expert_silent":
        return silent_notices(inst, await facts.expert_activity(session, inst, today), rs, now, f"{base}/app/")
    if rule == "expert_returned":
        return returned_notices(inst, await facts.returned_work(session, inst), rs, now, f"{base}/app/")
    if rule == "supervisor_digest":
        days = await facts.supervisor_days(session, inst, settings, now)
        return supervisor_notices(inst, institution.name, days, rs, now, base)
    if rule == "hr_digest":
        hr = await facts.holders(session, "hr", inst)
        experts = await facts.hr_experts(session, inst, settings, today) if hr else []
        return hr_notices(inst, hr, experts, rs, now, base)
    if rule == "admin_months":
        months = await facts.month_states(session, inst, institution.name, today)
        admins = await facts.holders(session, "admin", None) if months else []
        return admin_notices(inst, admins, months, rs, now, settings.entry_grace_days, base)
    raise ValueError(f"unknown rule {rule!r}")


async def evaluate(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Log every notice due at `now` (at most once per rule, person and period); returns how many are new."""
    institutions = (await session.execute(select(Institution).order_by(Institution.code))).scalars().all()
    overrides: dict[tuple[uuid.UUID, str], NotifyRuleSetting] = {
        (r.institution_id, r.rule): r for r in (await session.execute(select(NotifyRuleSetting))).scalars()}
    created = 0
    for institution in institutions:
        for rule in DEFAULTS:
            rs = effective(rule, overrides.get((institution.id, rule)), institution.timezone)
            if not due(rs, now):
                continue
            notices = await notices_for(session, institution, rule, rs, settings, now)
            created += len(await record(session, notices, settings))
    return created


async def tick(ctx: JobContext, payload: dict[str, Any]) -> None:
    async with ctx.runtime.sessionmaker() as session, session.begin():
        created = await evaluate(session, ctx.runtime.settings, ctx.now())
    log.info("notification tick %s: %s new messages", payload.get("period", "manual"), created)
