"""Reminder and digest rules on a clock the test controls: no database, no sleeping."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from backend.notifications.routing import Preference, choose
from backend.notifications.rules.digests import (
    HrExpert,
    MonthState,
    PendingByExpert,
    SupervisorDay,
    admin_notices,
    closable,
    hr_notices,
    service_short,
    supervisor_notices,
)
from backend.notifications.rules.experts import ExpertActivity, ReturnedWork, returned_notices, silent_notices
from backend.notifications.rules.schedule import DEFAULTS, RuleSettings, due, period_of, working_days_between
from backend.service_time import ServiceResult

INST = uuid.uuid4()


def shanghai(y: int, m: int, d: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Shanghai, as the UTC instant the worker's clock would give."""
    return datetime(y, m, d, hour, minute, tzinfo=UTC) - timedelta(hours=8)


# 2026-12-07 is a Monday.
MONDAY_9 = shanghai(2026, 12, 7, 9)


def test_a_rule_sends_from_its_hour_in_the_institution_time_zone() -> None:
    rule = RuleSettings(send_hour=9)
    assert not due(rule, shanghai(2026, 12, 7, 8, 59))
    assert due(rule, shanghai(2026, 12, 7, 9))
    assert due(rule, shanghai(2026, 12, 7, 15))  # a missed tick catches up later the same day
    assert not due(RuleSettings(send_hour=9, timezone="Asia/Urumqi"), shanghai(2026, 12, 7, 9))  # 07:00 there


def test_weekends_quiet_hours_and_off_switch_hold_a_rule_back() -> None:
    saturday = shanghai(2026, 12, 12, 10)
    assert not due(RuleSettings(), saturday)
    assert due(RuleSettings(skip_weekends=False), saturday)
    night = RuleSettings(send_hour=0, quiet_start=22, quiet_end=7)
    assert not due(night, shanghai(2026, 12, 7, 23))
    assert not due(night, shanghai(2026, 12, 8, 6))
    assert due(night, shanghai(2026, 12, 8, 7))
    assert not due(RuleSettings(enabled=False), MONDAY_9)


def test_periods_are_the_local_day_week_or_month() -> None:
    late_sunday_utc = datetime(2026, 12, 6, 17, tzinfo=UTC)  # Monday 01:00 in Shanghai
    assert period_of(RuleSettings(), late_sunday_utc) == "2026-12-07"
    assert period_of(DEFAULTS["hr_digest"], late_sunday_utc) == "2026-W50"
    assert period_of(DEFAULTS["admin_months"], late_sunday_utc) == "2026-12"


def test_weekly_digest_waits_for_monday_hour_then_catches_up_in_the_week() -> None:
    hr = DEFAULTS["hr_digest"]
    assert not due(hr, shanghai(2026, 12, 7, 8))
    assert due(hr, shanghai(2026, 12, 7, 9))
    assert due(hr, shanghai(2026, 12, 8, 3))


def test_working_days_skip_weekends() -> None:
    assert working_days_between(date(2026, 12, 4), date(2026, 12, 7)) == 1  # Fri -> Mon: only Monday
    assert working_days_between(date(2026, 12, 7), date(2026, 12, 7)) == 0


def expert(last_entry: date | None, attended: set[date], start: date = date(2026, 11, 1)) -> ExpertActivity:
    return ExpertActivity(expert_id=uuid.uuid4(), name="张医生", deployment_start=start, last_entry=last_entry,
                          attended=frozenset(attended))


def test_an_expert_silent_for_n_working_days_is_reminded_once_per_day() -> None:
    rule = RuleSettings(threshold_days=3, send_hour=19)
    now = shanghai(2026, 12, 9, 19)  # Wednesday evening
    friday = date(2026, 12, 4)
    quiet_one = expert(last_entry=friday, attended={date(2026, 12, 8)})  # Mon, Tue without entries: 2 days
    assert silent_notices(INST, [quiet_one], rule, now, "https://x/app/") == []
    silent = expert(last_entry=date(2026, 12, 3), attended={date(2026, 12, 8)})  # Fri, Mon, Tue: 3
    [notice] = silent_notices(INST, [silent], rule, now, "https://x/app/")
    assert "3 个工作日" in notice.message.body
    assert notice.period == "2026-12-09"
    assert notice.idempotency_key == f"expert_silent:{INST}:{silent.expert_id}:2026-12-09"
    assert notice.digest


def test_no_attendance_yesterday_is_a_reminder_but_not_on_monday_for_sunday() -> None:
    rule = RuleSettings(threshold_days=3)
    tuesday = shanghai(2026, 12, 8, 19)
    e = expert(last_entry=date(2026, 12, 7), attended=set())
    [notice] = silent_notices(INST, [e], rule, tuesday, "l")
    assert "昨天（12月07日）没有考勤记录" in notice.message.body
    monday = shanghai(2026, 12, 7, 19)
    assert silent_notices(INST, [expert(date(2026, 12, 6), set())], rule, monday, "l") == []
    # a stay that starts today has no yesterday to miss
    assert silent_notices(INST, [expert(None, set(), start=date(2026, 12, 8))], rule, tuesday, "l") == []


def test_returned_work_older_than_the_threshold_is_a_notice_that_cannot_be_opted_out_of() -> None:
    rule = RuleSettings(threshold_days=2)
    now = shanghai(2026, 12, 9, 9)
    fresh = ReturnedWork(uuid.uuid4(), "李医生", 1, now - timedelta(days=1))
    old = ReturnedWork(uuid.uuid4(), "王医生", 2, now - timedelta(days=5))
    [notice] = returned_notices(INST, [fresh, old], rule, now, "l")
    assert notice.recipient_id == old.expert_id
    assert "2 条记录被退回" in notice.message.title
    assert notice.digest is False
    opted_out = Preference(channel="auto", digests=False)
    assert choose(opted_out, {"wecom": uuid.uuid4()}, digest=notice.digest, smtp_ready=False).suppressed is None
    assert choose(opted_out, {"wecom": uuid.uuid4()}, digest=True, smtp_ready=False).suppressed == \
        "opted_out_of_digests"


def test_routing_follows_the_preference_then_the_institution_robots() -> None:
    wecom, ding = uuid.uuid4(), uuid.uuid4()
    assert choose(None, {"dingtalk": ding, "wecom": wecom}, digest=True, smtp_ready=True).channel_id == wecom
    assert choose(Preference(channel="dingtalk"), {"dingtalk": ding}, digest=True, smtp_ready=True).channel == \
        "dingtalk"
    assert choose(Preference(channel="dingtalk"), {"wecom": wecom}, digest=True, smtp_ready=True).suppressed == \
        "no_dingtalk_robot_configured"
    mail = choose(Preference(channel="email", email="a@b.cn"), {"wecom": wecom}, digest=True, smtp_ready=True)
    assert (mail.channel, mail.address) == ("email", "a@b.cn")
    assert choose(Preference(channel="email"), {}, digest=True, smtp_ready=True).suppressed == "no_email_address"
    assert choose(None, {}, digest=True, smtp_ready=True).suppressed == "no_channel_configured"


def test_supervisor_digest_lists_pending_by_expert_oldest_first_and_silent_phones() -> None:
    sup = uuid.uuid4()
    day = SupervisorDay(sup, [PendingByExpert("甲", 2, 1, 0), PendingByExpert("乙", 5, 20, 3)], ["丙"])
    [notice] = supervisor_notices(INST, "甲县人民医院", [day], RuleSettings(), MONDAY_9, "https://c")
    assert notice.message.body.startswith("待审核 7 条，最早的已等 20 天，3 条已超期")
    assert notice.message.body.index("乙") < notice.message.body.index("甲：")
    assert "丙：手机长时间未同步" in notice.message.body
    assert notice.message.link == "https://c/#/review"
    assert supervisor_notices(INST, "x", [SupervisorDay(sup, [], [])], RuleSettings(), MONDAY_9, "c") == []


def result(counted: int, projected: date | None, met: date | None = None) -> ServiceResult:
    return ServiceResult(counted_days=counted, by_month=[], required_days=365, remaining_days=365 - counted,
                         met_on=met, projected_on=projected, pace_days=0, pace_window_days=90)


def test_service_short_when_the_pace_misses_the_planned_end() -> None:
    end = date(2027, 6, 30)
    assert service_short(result(100, date(2027, 8, 1)), end)
    assert service_short(result(100, None), end)  # no pace at all
    assert not service_short(result(100, date(2027, 6, 1)), end)
    assert not service_short(result(365, None, met=date(2026, 11, 1)), end)
    assert not service_short(result(100, None), None)  # open-ended stay: nothing to miss


def test_hr_weekly_digest_flags_pending_returned_ending_and_short_service() -> None:
    now = shanghai(2026, 12, 7, 9)
    hr = [uuid.uuid4(), uuid.uuid4()]
    experts = [
        HrExpert("赵", pending=3, returned=0, planned_end=None, service=None),
        HrExpert("钱", pending=0, returned=0, planned_end=date(2026, 12, 20), service=result(300, date(2026, 12, 1),
                                                                                           met=None)),
        HrExpert("孙", pending=0, returned=0, planned_end=date(2027, 3, 1), service=result(40, date(2027, 9, 1))),
        HrExpert("李", pending=0, returned=0, planned_end=date(2027, 9, 1), service=result(40, date(2027, 8, 1))),
    ]
    notices = hr_notices(INST, hr, experts, DEFAULTS["hr_digest"], now, "https://c")
    assert [n.recipient_id for n in notices] == hr
    body = notices[0].message.body
    assert "赵：待审核 3" in body
    assert "钱：派驻 12月20日 到期" in body
    assert "孙：按目前进度服务天数不足一年" in body
    assert "李" not in body
    assert notices[0].period == "2026-W50"


def test_a_month_is_closable_after_the_grace_period_with_nothing_pending() -> None:
    oct_ = MonthState("甲县", date(2026, 10, 1), entries=40, pending=0, closed=False)
    assert closable(oct_, date(2026, 12, 1), grace_days=30)
    assert not closable(oct_, date(2026, 11, 30), grace_days=30)
    assert not closable(MonthState("甲县", date(2026, 10, 1), 40, 1, False), date(2026, 12, 9), 30)
    assert not closable(MonthState("甲县", date(2026, 10, 1), 40, 0, True), date(2026, 12, 9), 30)
    assert not closable(MonthState("甲县", date(2026, 10, 1), 0, 0, False), date(2026, 12, 9), 30)
    admin = uuid.uuid4()
    [notice] = admin_notices(INST, [admin], [oct_], DEFAULTS["admin_months"], shanghai(2026, 12, 1, 10), 30, "c")
    assert "2026年10月：40 条记录" in notice.message.body
    assert notice.period == "2026-12"


@pytest.mark.parametrize("rule", sorted(DEFAULTS))
def test_every_rule_has_defaults_in_shanghai(rule: str) -> None:
    assert DEFAULTS[rule].timezone == "Asia/Shanghai"


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    from backend.notifications.channels.base import retry_after_seconds

    now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Mon, 07 Dec 2026 01:02:00 GMT", now) == 120.0
    assert retry_after_seconds("Mon, 07 Dec 2026 00:00:00 GMT", now) == 0.0  # already past
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_delivery_backoff_grows_and_never_undercuts_retry_after() -> None:
    from backend.notifications.delivery import backoff

    assert [backoff(n, None).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff(1, 600).total_seconds() == 600
    assert backoff(20, None).total_seconds() == 3600
    assert backoff(1, 10**7).total_seconds() == 3600  # a silly Retry-After is capped


def test_dingtalk_signature_is_base64_hmac_of_timestamp_newline_secret_url_encoded() -> None:
    import base64
    import hashlib
    import hmac
    from urllib.parse import unquote_plus

    from backend.notifications.channels.robots import dingtalk_sign

    sign = dingtalk_sign("SECabc", 1700000000000)
    raw = hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()
    assert unquote_plus(sign) == base64.b64encode(raw).decode()
    assert not set("+/=") & set(sign)  # URL-encoded (the base64 always ends in "=")
