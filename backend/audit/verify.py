"""Check the stored audit trail against its hash chain, streaming it from the database in seq order."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.chain import GENESIS, AuditEvent, ChainProblem, Checkpoint, verify_chain
from backend.models import AuditEvent as AuditEventRow

_ANCHOR = re.compile(r"^(?P<seq>\d+):(?P<hash>[0-9a-f]{64})$")


class VerifyReport(msgspec.Struct, kw_only=True):
    """What verification found: the events read, the head of the chain, and every problem."""

    events: int
    head: Checkpoint
    problems: list[ChainProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_anchor(raw: str) -> Checkpoint:
    """`<seq>:<sha256 hex>` as printed by `fieldlog audit verify` (the head to keep somewhere safe)."""
    match = _ANCHOR.match(raw.strip())
    if not match:
        raise ValueError(f"an anchor is '<seq>:<64 hex digits>', got {raw!r}")
    return Checkpoint(seq=int(match["seq"]), hash=match["hash"])


def to_chain_event(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        occurred_at=row.occurred_at, actor_id=row.actor_id, actor_role=row.actor_role, action=row.action,
        object_type=row.object_type, object_id=row.object_id, request_id=row.request_id, origin=row.origin,
        before_digest=row.before_digest, after_digest=row.after_digest, detail=row.detail, seq=row.seq,
        prev_hash=row.prev_hash, hash=row.hash,
    )


async def _batches(session: AsyncSession, size: int) -> AsyncIterator[list[AuditEvent]]:
    # Keyset batches rather than one server-side cursor: works through any pooler and keeps memory flat.
    after = 0
    while True:
        rows = (await session.execute(
            select(AuditEventRow).where(AuditEventRow.seq > after).order_by(AuditEventRow.seq).limit(size)
        )).scalars().all()
        if not rows:
            return
        yield [to_chain_event(row) for row in rows]
        after = rows[-1].seq
        session.expunge_all()


async def verify_trail(session: AsyncSession, *, anchor: Checkpoint | None = None, batch: int = 5000
                       ) -> VerifyReport:
    """Verify every stored event from the genesis; with `anchor`, also that the anchored event is unchanged."""
    problems: list[ChainProblem] = []
    head, count = GENESIS, 0
    async for events in _batches(session, batch):
        # Each batch continues from the last event of the one before, exactly as one pass over all would.
        problems += verify_chain(events, start=head)
        if anchor is not None:
            problems += [p for e in events if e.seq == anchor.seq
                         for p in verify_chain([e], start=Checkpoint(seq=e.seq - 1, hash=e.prev_hash), anchor=anchor)
                         if p.kind == "anchor_mismatch"]
        head, count = Checkpoint(seq=events[-1].seq, hash=events[-1].hash), count + len(events)
    if anchor is not None and head.seq < anchor.seq:
        problems += verify_chain([], start=head, anchor=anchor)
    return VerifyReport(events=count, head=head, problems=problems)
