"""Roll-ups of approved work, kept exact in the same transaction as every approval and unapproval."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base


class StatRollup(Base):
    """Sum of one metric for one expert, deployment and month (e.g. `count:surgery`, `surgery:grade_3:primary`)."""

    __tablename__ = "stat_rollups"
    __table_args__ = (
        Index("ix_stat_rollups_institution_id_month", "institution_id", "month"),
        Index("ix_stat_rollups_deployment_id", "deployment_id"),
    )

    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    deployment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deployments.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(80), primary_key=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    entries: Mapped[int] = mapped_column(BigInteger)
