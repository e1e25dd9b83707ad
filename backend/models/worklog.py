"""Entries (one piece of work on one day at one deployment), their versions, trainees and attachments."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

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
    Time,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, enum_check, now_column, uuid_pk

ACTIVITY_TYPES = (
    "clinic",
    "surgery",
    "teaching_round",
    "lecture",
    "case_discussion",
    "free_clinic",
    "remote_consultation",
    "new_technique",
    "mentoring",
    "management",
    "emergency",
    "attendance",
)
ENTRY_STATUSES = ("draft", "submitted", "approved", "returned")


class Trainee(Base):
    """A local staff member (骨干) trained by experts, recorded once and referred to by id."""

    __tablename__ = "trainees"

    id: Mapped[uuid.UUID] = uuid_pk()
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    post: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = now_column()


class Entry(Base):
    __tablename__ = "entries"
    __table_args__ = (
        enum_check("activity_type", ACTIVITY_TYPES),
        enum_check("status", ENTRY_STATUSES),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("duration_minutes IS NULL OR duration_minutes BETWEEN 1 AND 1440", name="duration_range"),
        CheckConstraint("revision_of IS NULL OR revision_of <> id", name="not_own_revision"),
        Index("ix_entries_expert_id_work_date", "expert_id", "work_date", "id"),
        Index("ix_entries_institution_id_status_work_date", "institution_id", "status", "work_date"),
        Index("ix_entries_deployment_id_work_date", "deployment_id", "work_date"),
        Index("ix_entries_revision_of", "revision_of", postgresql_where=text("revision_of IS NOT NULL")),
        Index(
            "uq_entries_attendance_per_day",
            "expert_id",
            "work_date",
            unique=True,
            postgresql_where=text("activity_type = 'attendance' AND deleted_at IS NULL AND revision_of IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    deployment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deployments.id"))
    # Denormalised from the deployment so that a supervisor's scope filter is one indexed column.
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    work_date: Mapped[date] = mapped_column(Date)
    activity_type: Mapped[str] = mapped_column(String(40))
    fields: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    start_time: Mapped[time | None] = mapped_column(Time)
    end_time: Mapped[time | None] = mapped_column(Time)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    location: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(20), server_default=text("'draft'"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    content_hash: Mapped[str] = mapped_column(String(64))
    revision_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entries.id"))
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entries.id"))
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    device_id: Mapped[str | None] = mapped_column(String(100))
    device_time: Mapped[datetime | None]
    quarantined: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    deleted_at: Mapped[datetime | None]


class EntryVersion(Base):
    """Every saved version of an entry: the base of three-way merges and the visible history."""

    __tablename__ = "entry_versions"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot: Mapped[dict[str, Any]]
    changed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    change: Mapped[str] = mapped_column(String(40))
    changed_at: Mapped[datetime] = now_column()


class Attachment(Base):
    """A file a user uploaded, addressed by its SHA-256; stored once per user."""

    __tablename__ = "attachments"
    __table_args__ = (
        enum_check("status", ("pending", "complete")),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        Index("uq_attachments_owner_id_sha256", "owner_id", "sha256", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'pending'"))
    received_bytes: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    upload_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = now_column()
    completed_at: Mapped[datetime | None]


class EntryAttachment(Base):
    """An entry names its files by hash, so it may arrive before them."""

    __tablename__ = "entry_attachments"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), server_default=text("'photo'"))
