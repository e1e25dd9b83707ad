"""Evidence exports: the job HR starts, the files it produced and the verification code printed on them.

The file bytes live in the database (bytea), not in attachment storage: a document is tens or hundreds
of kilobytes, it must be written in the same transaction that marks the job done (so a job is never
"done" with a missing file), and the storage interface is shaped for resumable phone uploads.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, enum_check, now_column, uuid_pk

EXPORT_STATUSES = ("queued", "running", "done", "failed")
EXPORT_FORMATS = ("pdf", "xlsx", "csv")


class ExportJob(Base):
    """One evidence document for one expert and period, in one or more formats."""

    __tablename__ = "exports"
    __table_args__ = (
        enum_check("status", EXPORT_STATUSES),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        CheckConstraint("date_to >= date_from", name="period"),
        Index("ix_exports_expert_id_created_at", "expert_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    formats: Mapped[list[str]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'queued'"))
    progress: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    # What the document states (names, period, totals): the public verification page shows exactly this.
    statement: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = now_column()
    # Touched at every progress step; a queued/running job not touched for a while died with its process.
    updated_at: Mapped[datetime] = now_column()
    finished_at: Mapped[datetime | None]
    # Set when the export is one expert's document in HR's promotion round.
    round_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("promotion_rounds.id", ondelete="SET NULL"), index=True
    )


class PromotionRound(Base):
    """HR's promotion round: every expert of one home hospital over one period, as one ZIP in storage."""

    __tablename__ = "promotion_rounds"
    __table_args__ = (
        enum_check("status", EXPORT_STATUSES),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        CheckConstraint("date_to >= date_from", name="period"),
        Index("ix_promotion_rounds_institution_id_created_at", "institution_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'queued'"))
    progress: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    experts_total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    experts_done: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    storage_key: Mapped[str | None] = mapped_column(String(300))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    finished_at: Mapped[datetime | None]


class ExportFile(Base):
    """One rendered file of an export, with the SHA-256 the verification page publishes."""

    __tablename__ = "export_files"
    __table_args__ = (
        enum_check("format", EXPORT_FORMATS),
        CheckConstraint("size = octet_length(content)", name="size_matches"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    )

    export_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exports.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[str] = mapped_column(String(10), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = now_column()


class VerifyCheck(Base):
    """One public file check on the verify page, counted per address across all API nodes."""

    __tablename__ = "verify_checks"
    __table_args__ = (
        Index("ix_verify_checks_address_at", "address", "at"),
        Index("ix_verify_checks_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = now_column()
