"""Append events to the hash-chained audit trail in the caller's transaction (filled in by the review feature)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal


async def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    institution_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit event (request id and origin come from backend.http.context) in the same transaction."""
    return None
