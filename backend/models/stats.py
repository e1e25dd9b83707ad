"""Roll-ups of approved work, kept exact in the same transaction as every approval and unapproval.

Three tables, each a sum over the counted entries (approved, not superseded, not deleted), recomputable
from the entries by `backend.stats.recompute`:

- `stat_rollups`: one metric per expert, deployment and month (`count:surgery`, `surgery:grade_3:primary`, ...).
- `stat_trainees`: which trainees were mentored per expert, deployment and month; distinct counts need the
  ids, not a sum.
- `stat_days`: the day and status of each approved attendance entry; service time counts single days.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base
from backend.models.worklog import Entry


class StatRollup(Base):
    """Sum of one metric for one expert, deployment and month (e.g. `count:surgery`, `surgery:grade_3:primary`)."""

    __tablename__ = "stat_rollups"
    __table_args__ = (
        Index("ix_stat_rollups_institution_id_month", "institution_id", "month"),
        # A supporting hospital's year reads one metric (days on site) of many deployments: the value is in
        # the index, so that is an index-only scan instead of every metric row of every deployment.
        Index("ix_stat_rollups_deployment_id_metric_month", "deployment_id", "metric", "month",
              postgresql_include=["value"]),
    )

    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    deployment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deployments.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(80), primary_key=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    entries: Mapped[int] = mapped_column(BigInteger)


class StatTrainee(Base):
    """A trainee mentored by an expert at a deployment in a month; `entries` counts the mentoring entries."""

    __tablename__ = "stat_trainees"
    __table_args__ = (Index("ix_stat_trainees_institution_id_month", "institution_id", "month"),)

    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    deployment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deployments.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    # No foreign key: the id comes from the entry's fields, which the work log validates as a uuid only.
    trainee_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    entries: Mapped[int] = mapped_column(BigInteger)


class StatDay(Base):
    """An approved attendance day of an expert: its status and deployment; `entries` is normally 1."""

    __tablename__ = "stat_days"

    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    work_date: Mapped[date] = mapped_column(Date, primary_key=True)
    deployment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deployments.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger)


# Pending figures are a count of submitted entries per expert and period; this partial index keeps that
# count to the few submitted rows instead of every entry of the expert.
Index(
    "ix_entries_submitted_expert_id_work_date",
    Entry.expert_id,
    Entry.work_date,
    Entry.activity_type,
    postgresql_where=text("status = 'submitted' AND deleted_at IS NULL"),
)
