"""The one way review code saves a change to an entry: new version, version row, audit event, phone feed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend import feed
from backend.audit import writer as audit
from backend.auth.principal import Principal
from backend.models import Entry
from backend.worklog.service import snapshot, write_version


async def save_change(
    session: AsyncSession,
    principal: Principal,
    entry: Entry,
    before: dict[str, Any],
    attachments: list[str],
    *,
    action: str,
    role: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Persist `entry` (already mutated by the caller) as a new version, audited, and tell the expert's phone.

    `before` is `snapshot(entry, attachments)` taken before the mutation. Everything happens in the
    caller's transaction, so the state change and its audit event commit or roll back together.
    """
    entry.version += 1
    entry.updated_at = datetime.now(UTC)
    await session.flush()
    await write_version(session, entry, attachments, principal.user_id, action)
    after = snapshot(entry, attachments)
    await audit.record(
        session, principal, f"entry.{action}", "entry", entry.id, before=before, after=after,
        institution_id=entry.institution_id, role=role,
        detail={"from": before["status"], "to": entry.status, "version": entry.version,
                "expert_id": str(entry.expert_id), **(detail or {})},
    )
    # The phone pulls the new state, comment and lock reason through its feed.
    await feed.touch(session, entry.expert_id, "entry", [entry.id])
