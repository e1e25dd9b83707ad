"""Small helpers the back-office services share: unique-key conflicts, paging, audit snapshots."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, FieldError, InvalidInput

T = TypeVar("T")


def fail_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(errors=errors)


async def flush_unique(session: AsyncSession, message: str, reason: str) -> None:
    """Flush inside a savepoint so a unique violation from a concurrent writer becomes a 409, not a 500."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if "unique" not in str(exc.orig).lower() and "duplicate" not in str(exc.orig).lower():
            raise
        raise Conflict(message, extra={"reason": reason}) from None


async def count_of(session: AsyncSession, query: Select[Any]) -> int:
    return int((await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one())


def snapshot(view: msgspec.Struct, *drop: str) -> dict[str, Any]:
    """A plain-JSON copy of a view for the audit trail (timestamps dropped: the event has its own)."""
    data: dict[str, Any] = msgspec.to_builtins(view)
    for key in ("created_at", "updated_at", *drop):
        data.pop(key, None)
    return data


def changed(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually set (UNSET fields left out)."""
    return {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
