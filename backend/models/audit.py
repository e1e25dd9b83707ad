"""The append-only, hash-chained audit trail and closed months."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, now_column


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object_type_object_id", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = now_column()
    actor_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(100))
    institution_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str | None] = mapped_column(String(100))
    origin: Mapped[str | None] = mapped_column(String(200))
    before_digest: Mapped[str | None] = mapped_column(String(64))
    after_digest: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class MonthClosure(Base):
    """A month an admin closed for a hospital: entries dated in it are locked."""

    __tablename__ = "month_closures"

    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    closed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime] = now_column()


class AuditPending(Base):
    """Events of a transaction still in progress; sealed into `audit_events` just before it commits.

    Writing here needs no lock, and rows written inside a savepoint that rolls back vanish with it. Only the
    short sealing step at commit serialises on the chain's lock, so concurrent writers no longer queue behind
    each other for the whole length of their transactions.
    """

    __tablename__ = "audit_pending"
    __table_args__ = (Index("ix_audit_pending_txid", "txid"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint"))
    occurred_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
    actor_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(100))
    institution_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str | None] = mapped_column(String(100))
    origin: Mapped[str | None] = mapped_column(String(200))
    before_digest: Mapped[str | None] = mapped_column(String(64))
    after_digest: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]
