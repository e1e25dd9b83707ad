"""Entries for statistics tests, approved, unapproved and revised the way review does it (status + apply_entry)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Deployment, Entry
from backend.stats.rollup import apply_entry


async def add_entry(session: AsyncSession, dep: Deployment, day: date, activity_type: str, fields: dict[str, Any],
                    *, status: str = "approved", duration: int | None = None,
                    revision_of: Entry | None = None) -> Entry:
    """Insert an entry; an approved one is applied to the roll-ups as review's approve would."""
    entry = Entry(id=uuid.uuid4(), expert_id=dep.expert_id, deployment_id=dep.id, institution_id=dep.recipient_id,
                  work_date=day, activity_type=activity_type, fields=fields, duration_minutes=duration,
                  status=status, version=1, content_hash=hashlib.sha256(repr(fields).encode()).hexdigest(),
                  revision_of=revision_of.id if revision_of else None)
    session.add(entry)
    await session.flush()
    if status == "approved":
        await apply_entry(session, entry, +1)
    return entry


async def approve(session: AsyncSession, entry: Entry) -> None:
    entry.status = "approved"
    await session.flush()
    await apply_entry(session, entry, +1)


async def unapprove(session: AsyncSession, entry: Entry) -> None:
    entry.status = "returned"
    await session.flush()
    await apply_entry(session, entry, -1)


async def approve_revision(session: AsyncSession, original: Entry, revision: Entry) -> None:
    """The revision replaces the original: the original stops counting, the revision starts."""
    original.superseded_by = revision.id
    revision.status = "approved"
    await session.flush()
    await apply_entry(session, original, -1)
    await apply_entry(session, revision, +1)
