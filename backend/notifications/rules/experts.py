"""Reminders to experts: no entry for N working days or no attendance yesterday; returned work left unfixed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from backend.notifications.channels.base import Message
from backend.notifications.rules.schedule import Notice, RuleSettings, local, period_of, working_days_between


@dataclass(frozen=True, slots=True)
class ExpertActivity:
    """An expert on an active deployment at the institution, as of the evaluation."""

    expert_id: uuid.UUID
    name: str
    deployment_start: date
    last_entry: date | None  # newest work date of any entry they made (any state)
    attended: frozenset[date]  # days with an attendance entry (recent ones suffice)


@dataclass(frozen=True, slots=True)
class ReturnedWork:
    expert_id: uuid.UUID
    name: str
    count: int
    oldest_returned_at: datetime


def silent_notices(institution_id: uuid.UUID, experts: list[ExpertActivity], settings: RuleSettings,
                   now: datetime, app_url: str) -> list[Notice]:
    today = local(now, settings).date()
    yesterday = today - timedelta(days=1)
    period = period_of(settings, now)
    notices = []
    for e in experts:
        reasons = []
        # Working days with no entry, from the day after the newest one (or the stay's first day) to yesterday.
        since = e.last_entry if e.last_entry is not None else e.deployment_start - timedelta(days=1)
        idle = working_days_between(since, yesterday)
        if idle >= settings.threshold_days:
            reasons.append(f"已连续 {idle} 个工作日没有填写工作日志")
        if yesterday.weekday() < 5 and yesterday >= e.deployment_start and yesterday not in e.attended:
            reasons.append(f"昨天（{yesterday:%m月%d日}）没有考勤记录")
        if reasons:
            notices.append(Notice(
                rule="expert_silent", institution_id=institution_id, recipient_id=e.expert_id, period=period,
                message=Message(title=f"{e.name}：请补填工作日志", body="；".join(reasons) + "。", link=app_url),
            ))
    return notices


def returned_notices(institution_id: uuid.UUID, rows: list[ReturnedWork], settings: RuleSettings,
                     now: datetime, app_url: str) -> list[Notice]:
    period = period_of(settings, now)
    notices = []
    for r in rows:
        age = (now - r.oldest_returned_at).days
        if r.count and age >= settings.threshold_days:
            notices.append(Notice(
                rule="expert_returned", institution_id=institution_id, recipient_id=r.expert_id, period=period,
                digest=False,
                message=Message(title=f"{r.name}：有 {r.count} 条记录被退回待修改",
                                body=f"最早一条已退回 {age} 天，请修改后重新提交。", link=app_url),
            ))
    return notices
