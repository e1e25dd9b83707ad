"""Roll-ups of approved work, kept exact in the same transaction as each approval (filled in by the statistics feature)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Entry


async def apply_entry(session: AsyncSession, entry: Entry, sign: int) -> None:
    """Add (sign=+1) or remove (sign=-1) an approved entry's figures to/from the roll-ups.

    Called by review in the same transaction as approve, unapprove and a revision superseding an original.
    """
    return None
