"""Notifications: per-institution rule settings, robot channels, per-user preferences, and the delivery log.

The job queue's own tables live in the `jobs` schema, created by migration 0009 from pgqueuer's DDL; they are
not mapped here (pgqueuer owns them).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, enum_check, now_column, uuid_pk

RULES = ("expert_silent", "expert_returned", "supervisor_digest", "hr_digest", "admin_months")
CHANNEL_KINDS = ("wecom", "dingtalk", "webhook")
PREFERRED_CHANNELS = ("auto", "wecom", "dingtalk", "webhook", "email")
DELIVERY_STATUSES = ("pending", "sent", "failed", "suppressed")


class NotifyRuleSetting(Base):
    """How one rule behaves at one institution; a missing row means the rule's defaults."""

    __tablename__ = "notify_rule_settings"
    __table_args__ = (
        enum_check("rule", RULES),
        CheckConstraint("send_hour BETWEEN 0 AND 23", name="send_hour_range"),
        CheckConstraint("quiet_start IS NULL OR quiet_start BETWEEN 0 AND 23", name="quiet_start_range"),
        CheckConstraint("quiet_end IS NULL OR quiet_end BETWEEN 0 AND 23", name="quiet_end_range"),
    )

    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True
    )
    rule: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    threshold_days: Mapped[int | None] = mapped_column(Integer)
    send_hour: Mapped[int] = mapped_column(Integer, server_default=text("9"))
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    skip_weekends: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    timezone: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class NotifyChannel(Base):
    """A group robot (WeCom, DingTalk) or a signed webhook an admin configured for one institution."""

    __tablename__ = "notify_channels"
    __table_args__ = (
        enum_check("kind", CHANNEL_KINDS),
        Index("uq_notify_channels_institution_id_kind", "institution_id", "kind", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    # Write-only: never logged, never returned by the API (DingTalk's signing secret, the webhook's HMAC key).
    secret: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class NotifyPreference(Base):
    """A user's channel and digest opt-out (returned-work notices cannot be opted out of)."""

    __tablename__ = "notify_preferences"
    __table_args__ = (enum_check("channel", PREFERRED_CHANNELS),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), server_default=text("'auto'"))
    email: Mapped[str | None] = mapped_column(String(254))
    digests: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class NotifyDelivery(Base):
    """One message to one recipient for one rule and period: the idempotency key makes it unique."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (
        enum_check("status", DELIVERY_STATUSES),
        Index("ix_notify_deliveries_status_created_at", "status", "created_at"),
        Index("ix_notify_deliveries_recipient_id_created_at", "recipient_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id", ondelete="SET NULL"))
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
    channel_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notify_channels.id", ondelete="SET NULL"))
    address: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'pending'"))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    provider_status: Mapped[int | None] = mapped_column(Integer)
    provider_answer: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
