"""Digests: a supervisor's day, HR's week, the months an admin can close."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from backend.notifications.channels.base import Message
from backend.notifications.rules.schedule import Notice, RuleSettings, local, period_of
from backend.service_time import ServiceResult

MAX_LINES = 8  # a robot message stays short: the rest is "等 N 人" and the link


@dataclass(frozen=True, slots=True)
class PendingByExpert:
    name: str
    count: int
    oldest_days: int
    overdue: int


@dataclass(frozen=True, slots=True)
class SupervisorDay:
    supervisor_id: uuid.UUID
    pending: list[PendingByExpert]
    silent_phones: list[str]  # experts whose phones have not synced within the overdue window


@dataclass(frozen=True, slots=True)
class HrExpert:
    name: str
    pending: int
    returned: int
    planned_end: date | None
    service: ServiceResult | None


@dataclass(frozen=True, slots=True)
class MonthState:
    institution_name: str
    month: date  # its first day
    entries: int
    pending: int
    closed: bool


def _lines(items: list[str]) -> str:
    shown = items[:MAX_LINES]
    rest = len(items) - len(shown)
    return "\n".join(f"- {x}" for x in shown) + (f"\n- 等另外 {rest} 项" if rest > 0 else "")


def supervisor_notices(institution_id: uuid.UUID, hospital: str, days: list[SupervisorDay],
                       settings: RuleSettings, now: datetime, console_url: str) -> list[Notice]:
    period = period_of(settings, now)
    notices = []
    for d in days:
        total = sum(p.count for p in d.pending)
        if not total and not d.silent_phones:
            continue
        overdue = sum(p.overdue for p in d.pending)
        oldest = max((p.oldest_days for p in d.pending), default=0)
        parts = [f"待审核 {total} 条，最早的已等 {oldest} 天" + (f"，{overdue} 条已超期" if overdue else "")]
        items = [f"{p.name}：{p.count} 条" + (f"（超期 {p.overdue}）" if p.overdue else "") for p in
                 sorted(d.pending, key=lambda p: (-p.oldest_days, p.name))]
        items += [f"{name}：手机长时间未同步" for name in d.silent_phones]
        notices.append(Notice(
            rule="supervisor_digest", institution_id=institution_id, recipient_id=d.supervisor_id, period=period,
            message=Message(title=f"{hospital} 今日审核提醒", body="；".join(parts) + "\n" + _lines(items),
                            link=f"{console_url}/#/review"),
        ))
    return notices


def service_short(service: ServiceResult | None, planned_end: date | None) -> bool:
    """At the current pace, the one-year service rule will not be met by the planned end of the stay."""
    if service is None or service.met_on is not None or planned_end is None:
        return False
    return service.projected_on is None or service.projected_on > planned_end


def hr_notices(institution_id: uuid.UUID, hr_ids: list[uuid.UUID], experts: list[HrExpert],
               settings: RuleSettings, now: datetime, console_url: str) -> list[Notice]:
    today = local(now, settings).date()
    items = []
    for e in sorted(experts, key=lambda e: e.name):
        flags = []
        if e.pending:
            flags.append(f"待审核 {e.pending}")
        if e.returned:
            flags.append(f"被退回 {e.returned}")
        if e.planned_end and today <= e.planned_end <= today + timedelta(days=30):
            flags.append(f"派驻 {e.planned_end:%m月%d日} 到期")
        if service_short(e.service, e.planned_end):
            flags.append("按目前进度服务天数不足一年")
        if flags:
            items.append(f"{e.name}：" + "，".join(flags))
    if not items:
        return []
    message = Message(title=f"本周派驻专家情况（{len(items)} 人需关注）", body=_lines(items),
                      link=f"{console_url}/#/experts")
    return [Notice(rule="hr_digest", institution_id=institution_id, recipient_id=hr, period=period_of(settings, now),
                   message=message) for hr in hr_ids]


def closable(month: MonthState, today: date, grace_days: int) -> bool:
    """A past month, beyond the late-entry grace period, with entries, none still pending, not yet closed."""
    last = (month.month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return not month.closed and month.entries > 0 and month.pending == 0 and today > last + timedelta(days=grace_days)


def admin_notices(institution_id: uuid.UUID, admin_ids: list[uuid.UUID], months: list[MonthState],
                  settings: RuleSettings, now: datetime, grace_days: int, console_url: str) -> list[Notice]:
    today = local(now, settings).date()
    ready = [m for m in months if closable(m, today, grace_days)]
    if not ready:
        return []
    message = Message(title=f"{ready[0].institution_name}：{len(ready)} 个月份可以关账",
                      body=_lines([f"{m.month:%Y年%m月}：{m.entries} 条记录，均已审核" for m in ready]),
                      link=f"{console_url}/#/admin/months")
    return [Notice(rule="admin_months", institution_id=institution_id, recipient_id=a,
                   period=period_of(settings, now), message=message) for a in admin_ids]
