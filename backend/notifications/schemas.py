"""Wire types of the notification settings, channels, preferences and delivery log.

Secrets are write-only: `ChannelPut.secret` goes in, `Channel.has_secret` comes out, never the secret itself.
The robot URL carries the provider's key, so it is shown masked (`url_masked`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

import msgspec

Rule = Literal["expert_silent", "expert_returned", "supervisor_digest", "hr_digest", "admin_months"]
ChannelKind = Literal["wecom", "dingtalk", "webhook"]
PreferredChannel = Literal["auto", "wecom", "dingtalk", "webhook", "email"]
Hour = Annotated[int, msgspec.Meta(ge=0, le=23)]


class ChannelPut(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=1000)]
    secret: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    enabled: bool = True


class Channel(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    institution_id: uuid.UUID
    kind: ChannelKind
    url_masked: str
    has_secret: bool
    enabled: bool
    updated_at: datetime


class RulePut(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    threshold_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | None = None
    send_hour: Hour | None = None
    quiet_start: Hour | None = None
    quiet_end: Hour | None = None
    skip_weekends: bool | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64, extra_json_schema=_ZONES)] | None = None


class RuleView(msgspec.Struct, kw_only=True):
    rule: Rule
    enabled: bool
    threshold_days: int
    send_hour: int
    quiet_start: int | None
    quiet_end: int | None
    skip_weekends: bool
    timezone: str
    cadence: Literal["daily", "weekly", "monthly"]
    customised: bool


_ZONES = {"enum": sorted(available_timezones())}  # what the rule's time zone is checked against (IANA names)
_EMAIL = r"^[^@\s\x00-\x1f\x7f\x85\ufeff]+@[^@\s\x00-\x1f\x7f\x85\ufeff]+\.[^@\s\x00-\x1f\x7f\x85\ufeff]+$"


class Preferences(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    channel: PreferredChannel = "auto"
    # Control characters and \x85/\ufeff spelled out: Python's and JSON Schema's `\s` differ on exactly those.
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=_EMAIL)] | None = None
    digests: bool = True


class Delivery(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    rule: str
    period: str
    institution_id: uuid.UUID | None
    recipient_id: uuid.UUID | None
    recipient_name: str | None
    channel: str
    status: Literal["pending", "sent", "failed", "suppressed"]
    reason: str | None
    attempts: int
    provider_status: int | None
    provider_answer: str | None
    title: str
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


class DeliveryPage(msgspec.Struct, kw_only=True):
    counts: dict[str, int]
    items: list[Delivery]
