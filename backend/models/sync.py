"""Tables of the sync protocol: the per-device mutation log and the per-user change feed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, enum_check, now_column

MUTATION_OUTCOMES = ("applied", "duplicate", "conflict", "locked", "rejected")


class SyncMutation(Base):
    """Each mutation a device sent, with the answer it got; written in the same transaction as its effect."""

    __tablename__ = "sync_mutations"
    __table_args__ = (
        enum_check("outcome", MUTATION_OUTCOMES),
        Index("ix_sync_mutations_user_id_rejected", "user_id", postgresql_where=text("outcome = 'rejected'")),
    )

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[uuid.UUID | None]
    outcome: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any] | None]
    quarantined: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = now_column()


class SyncFeed(Base):
    """One row per (user, record) holding the id of the last transaction that changed it for that user.

    Pulls compare these transaction ids with PostgreSQL snapshots, so a change committed late by a
    transaction that started early is still delivered: the cursor never relies on clocks or commit order.
    """

    __tablename__ = "sync_feed"
    __table_args__ = (
        enum_check("op", ("upsert", "delete")),
        Index("ix_sync_feed_user_id_xid", "user_id", "xid"),
        # A supervisor's pull reads the entry rows of every expert at their hospitals by transaction window.
        Index("ix_sync_feed_kind_xid", "kind", "xid"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    xid: Mapped[int] = mapped_column(BigInteger)
    op: Mapped[str] = mapped_column(String(10))
    changed_at: Mapped[datetime] = now_column()


class SyncHorizon(Base):
    """The oldest transaction id a cursor may still start from (raised when tombstones are purged)."""

    __tablename__ = "sync_horizon"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    min_xid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    purged_at: Mapped[datetime | None]
    # Raised by a restore (backend/backup): a cursor carrying another epoch was issued by another database.
    epoch: Mapped[int] = mapped_column(Integer, server_default=text("0"))
