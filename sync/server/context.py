"""What checking a push's creates needs, loaded in one round trip per push.

The same facts as backend.worklog.service.load_context (the expert's deployments and location consent) plus
the closed months of their hospitals, read with one statement instead of four; trainees are read only when
the batch holds a mentoring entry, the one rule that needs them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.settings import Settings
from backend.worklog.service import DeploymentInfo, EntryContext
from backend.worklog.trainees import trainees_at

_CONTEXT = """
SELECT u.location_consent, d.id, d.recipient_id, i.timezone, d.starts_on, d.planned_end, d.actual_end, d.status,
       ARRAY(SELECT c.month FROM month_closures c WHERE c.institution_id = d.recipient_id) AS closed
FROM users u
LEFT JOIN deployments d ON d.expert_id = u.id
LEFT JOIN institutions i ON i.id = d.recipient_id
WHERE u.id = $1
"""


@dataclass(frozen=True)
class PushContext:
    """The entry rules' context, and the (hospital, month) pairs closed when the push started."""

    entry: EntryContext
    closed: frozenset[tuple[uuid.UUID, date]]


async def load_push_context(session: AsyncSession, raw: Any, expert_id: uuid.UUID, settings: Settings, *,
                            with_trainees: bool) -> PushContext:
    rows = await raw.fetch(_CONTEXT, expert_id)
    deployments = {
        r["id"]: DeploymentInfo(id=r["id"], expert_id=expert_id, institution_id=r["recipient_id"],
                                timezone=r["timezone"], starts_on=r["starts_on"], planned_end=r["planned_end"],
                                actual_end=r["actual_end"], status=r["status"])
        for r in rows if r["id"] is not None
    }
    closed = frozenset((r["recipient_id"], month) for r in rows if r["id"] is not None for month in r["closed"])
    trainees = (await trainees_at(session, {d.institution_id for d in deployments.values()})
                if with_trainees else {})
    ctx = EntryContext(expert_id=expert_id, deployments=deployments,
                       location_consent=bool(rows[0]["location_consent"]) if rows else False,
                       grace_days=settings.entry_grace_days, record_key=settings.record_key,
                       now=datetime.now(UTC), trainees=trainees)
    return PushContext(entry=ctx, closed=closed)
