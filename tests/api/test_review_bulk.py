"""A full batch of 500 decisions over HTTP: every item answered, within a time a supervisor can wait for."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.verify import verify_trail
from backend.models import AuditEvent, Entry
from backend.runtime import Runtime
from tests.factories import World


async def test_500_decisions_in_one_request(client: Any, world: World, session: AsyncSession, db: Runtime) -> None:
    now = datetime.now(UTC)
    rows = [{"id": uuid.uuid4(), "expert_id": world.expert_a.id, "deployment_id": world.deployment_a.id,
             "institution_id": world.hospital_a.id, "work_date": date.today() - timedelta(days=1 + i % 60),
             "activity_type": "clinic", "fields": {"session": "am"}, "status": "submitted", "version": 2,
             "content_hash": "0" * 64, "submitted_at": now} for i in range(500)]
    await session.execute(insert(Entry), rows)
    await session.commit()
    decisions = [{"entry_id": str(r["id"]), "version": 2 if i % 50 else 1, "action": "approve"}
                 for i, r in enumerate(rows)]
    headers = await world.headers(client, "supervisor_a")
    started = time.perf_counter()
    r = await client.post("/api/v1/review/decisions", json={"decisions": decisions}, headers=headers)
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text
    outcomes = [x["outcome"] for x in r.json()["results"]]
    assert outcomes.count("applied") == 490
    assert outcomes.count("stale_version") == 10
    print(f"\n500 decisions (490 applied, 10 stale) in {elapsed:.2f} s")
    assert elapsed < 30
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 490
    async with db.sessionmaker() as s:
        assert (await verify_trail(s)).ok
