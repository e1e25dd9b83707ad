"""Institutions, agreements and their yearly targets, users, role grants, deployments, devices, sessions."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend import vocab
from backend.models.base import Base, enum_check, now_column, uuid_pk


class Institution(Base):
    __tablename__ = "institutions"
    __table_args__ = (
        enum_check("kind", tuple(vocab.INSTITUTION_KINDS)),
        enum_check("level", tuple(vocab.INSTITUTION_LEVELS)),
        CheckConstraint("char_length(code) BETWEEN 1 AND 40", name="code_length"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    province_code: Mapped[str | None] = mapped_column(String(12))
    city_code: Mapped[str | None] = mapped_column(String(12))
    county_code: Mapped[str | None] = mapped_column(String(12))
    is_tcm: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    timezone: Mapped[str] = mapped_column(String(64), server_default=text("'Asia/Shanghai'"))
    created_at: Mapped[datetime] = now_column()


class Agreement(Base):
    __tablename__ = "agreements"
    __table_args__ = (
        enum_check("programme", tuple(vocab.PROGRAMMES)),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="period"),
        CheckConstraint("supporting_id <> recipient_id", name="distinct_parties"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    programme: Mapped[str] = mapped_column(String(40))
    supporting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = now_column()


class AgreementTarget(Base):
    """Yearly targets as data, because provinces set different ones."""

    __tablename__ = "agreement_targets"
    __table_args__ = (
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        CheckConstraint(
            "min_staff >= 0 AND min_leaders >= 0 AND min_trainees >= 0 AND min_new_techniques >= 0",
            name="non_negative",
        ),
        CheckConstraint("min_continuous_months BETWEEN 0 AND 12", name="months_range"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    min_staff: Mapped[int] = mapped_column(Integer, server_default=text("5"))
    min_leaders: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    min_continuous_months: Mapped[int] = mapped_column(Integer, server_default=text("6"))
    min_trainees: Mapped[int] = mapped_column(Integer, server_default=text("3"))
    min_new_techniques: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    full_year_coverage: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        enum_check("title", tuple(vocab.TITLES)),
        CheckConstraint("username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'", name="username_format"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str | None] = mapped_column(String(40))
    specialty: Mapped[str | None] = mapped_column(String(100))
    home_institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    location_consent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class RoleGrant(Base):
    """A role, scoped to an institution for supervisors (recipient) and HR (home institution)."""

    __tablename__ = "role_grants"
    __table_args__ = (
        enum_check("role", tuple(vocab.ROLES)),
        CheckConstraint(
            "(role IN ('supervisor', 'hr')) = (institution_id IS NOT NULL)", name="scope_matches_role"
        ),
        Index(
            "uq_role_grants_user_role_scope",
            "user_id",
            "role",
            text("coalesce(institution_id, '00000000-0000-0000-0000-000000000000'::uuid)"),
            unique=True,
        ),
        Index("ix_role_grants_institution_id_role", "institution_id", "role"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))
    created_at: Mapped[datetime] = now_column()


class Deployment(Base):
    """An expert's stay (派驻) at a recipient institution."""

    __tablename__ = "deployments"
    __table_args__ = (
        enum_check("post", tuple(vocab.POSTS)),
        enum_check("status", tuple(vocab.DEPLOYMENT_STATUSES)),
        CheckConstraint("planned_end IS NULL OR planned_end >= starts_on", name="planned_end_after_start"),
        CheckConstraint("actual_end IS NULL OR actual_end >= starts_on", name="actual_end_after_start"),
        Index("ix_deployments_recipient_id_starts_on", "recipient_id", "starts_on"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agreements.id"), index=True)
    department: Mapped[str] = mapped_column(String(100))
    post: Mapped[str] = mapped_column(String(40))
    starts_on: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date)
    actual_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Device(Base):
    """A phone, registered to one user; its sync health is visible to supervisors."""

    __tablename__ = "devices"
    __table_args__ = (CheckConstraint("char_length(id) BETWEEN 8 AND 100", name="id_length"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    registered_at: Mapped[datetime] = now_column()
    last_seen_at: Mapped[datetime | None]
    last_sync_at: Mapped[datetime | None]
    last_device_time: Mapped[datetime | None]
    clock_skew_ms: Mapped[int | None] = mapped_column(BigInteger)
    pending_count: Mapped[int | None] = mapped_column(Integer)
    oldest_pending_at: Mapped[datetime | None]
    app_version: Mapped[str | None] = mapped_column(String(40))
    last_ack_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class RefreshToken(Base):
    """One refresh token of a device session; only its SHA-256 is stored."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = now_column()
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class LoginAttempt(Base):
    """Failed sign-ins, counted per address, account × address and account alone across all API nodes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
        Index("ix_login_attempts_username_address_at", "username", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = now_column()


class SigningKeyFingerprint(Base):
    """Which secret a JWT key id stands for, as the first node that served with it saw it (backend/security)."""

    __tablename__ = "signing_key_fingerprints"

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = now_column()
