"""Monthly summaries (月度工作小结) and end-of-stay appraisals (派驻期满考核鉴定).

Both keep a JSON snapshot of the figures at the moment the author signs, so what the reviewer approved
or rated is exactly what later documents show, even when an entry is corrected afterwards.
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
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, enum_check, now_column, uuid_pk

SUMMARY_STATES = ("draft", "submitted", "approved", "returned")
APPRAISAL_STATES = ("self_assessed", "rated", "countersigned")
APPRAISAL_RATINGS = ("excellent", "qualified", "unqualified")


class MonthlySummary(Base):
    """One expert's summary of one calendar month."""

    __tablename__ = "monthly_summaries"
    __table_args__ = (
        enum_check("state", SUMMARY_STATES),
        CheckConstraint("extract(day from month) = 1", name="month_first_day"),
        UniqueConstraint("expert_id", "month"),
        Index("ix_monthly_summaries_state_month", "state", "month"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    month: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), server_default=text("'draft'"))
    narrative: Mapped[str] = mapped_column(Text, server_default=text("''"))
    figures: Mapped[dict[str, Any] | None]
    review_comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Appraisal(Base):
    """The appraisal of one deployment for one period (the whole stay, or one year of a long stay)."""

    __tablename__ = "appraisals"
    __table_args__ = (
        enum_check("state", APPRAISAL_STATES),
        CheckConstraint(f"rating IS NULL OR rating IN ({', '.join(repr(r) for r in APPRAISAL_RATINGS)})",
                        name="rating"),
        CheckConstraint("period_end >= period_start", name="period"),
        CheckConstraint("(state = 'self_assessed') = (rating IS NULL)", name="rated_when_past_self"),
        UniqueConstraint("deployment_id", "period_start"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    deployment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deployments.id"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), server_default=text("'self_assessed'"))
    self_assessment: Mapped[str] = mapped_column(Text)
    self_signed_at: Mapped[datetime] = now_column()
    rating: Mapped[str | None] = mapped_column(String(20))
    rating_comment: Mapped[str | None] = mapped_column(Text)
    figures: Mapped[dict[str, Any] | None]
    rated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    rated_at: Mapped[datetime | None]
    countersign_comment: Mapped[str | None] = mapped_column(Text)
    countersigned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    countersigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


ISSUED_KINDS = ("monthly_summary", "annual_report", "appraisal")
ISSUED_FORMATS = ("pdf", "xlsx")


class IssuedReport(Base):
    """A report document handed out: its verification code, what it states and the SHA-256 of its bytes.

    Only the hash is kept (a report is re-issued from its source on each download, with a new code); the
    public verification page shows the statement and checks an uploaded file against the hash.
    """

    __tablename__ = "issued_reports"
    __table_args__ = (
        enum_check("kind", ISSUED_KINDS),
        enum_check("format", ISSUED_FORMATS),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    )

    verification_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    format: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[uuid.UUID] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    statement: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    issued_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = now_column()
