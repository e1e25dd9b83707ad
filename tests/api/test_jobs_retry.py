"""An admin re-queues a failed job over HTTP: it runs again from its first attempt, the retry is audited, and only
a held failure can be retried (404 for an unknown number, 409 for a queued or finished job or a queued twin)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.jobs import Job, JobContext, Registry, enqueue
from backend.jobs.worker import drain
from backend.models import AuditEvent
from backend.runtime import Runtime


def flaky_registry(calls: list[int], *, failing: dict[str, bool]) -> Registry:
    async def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        calls.append(ctx.attempt)
        if failing["now"]:
            raise RuntimeError("provider down")

    return Registry.of([Job("test.flaky", flaky, max_attempts=2, first_retry=timedelta(0))])


async def queue_row(session: AsyncSession, job_id: int) -> tuple[str, int] | None:
    row = (await session.execute(text("SELECT status::text, attempts FROM jobs.pgqueuer WHERE id = :id"),
                                 {"id": job_id})).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def held_failure(db: Runtime, session: AsyncSession, calls: list[int], failing: dict[str, bool],
                       dedupe_key: str | None = None) -> int:
    job_id = await enqueue(session, "test.flaky", {"n": 1}, dedupe_key=dedupe_key)
    await session.commit()
    assert job_id is not None
    for _ in range(2):
        await drain(db, flaky_registry(calls, failing=failing))
    assert await queue_row(session, job_id) == ("failed", 1)  # both attempts used: held
    return job_id


async def test_the_admin_retries_a_failed_job_and_it_runs_again_from_its_first_attempt(
    client: Any, world: Any, db: Runtime, session: AsyncSession
) -> None:
    calls: list[int] = []
    failing = {"now": True}
    job_id = await held_failure(db, session, calls, failing)
    admin, admin_id = await world.headers(client, "admin"), world.admin.id
    listed = (await client.get("/api/v1/admin/jobs", headers=admin)).json()
    assert [j["id"] for j in listed["failed"]] == [job_id]

    r = await client.post(f"/api/v1/admin/jobs/{job_id}/retry", headers=admin)
    assert r.status_code == 202, r.text
    assert (r.json()["id"], r.json()["job"], r.json()["status"], r.json()["attempts_before"]) == (
        job_id, "test.flaky", "queued", 1)
    session.expire_all()
    assert await queue_row(session, job_id) == ("queued", 0)
    logged = (await session.execute(text("SELECT status::text FROM jobs.pgqueuer_log WHERE job_id = :id "
                                          "ORDER BY id DESC LIMIT 1"), {"id": job_id})).scalar_one()
    assert logged == "queued"
    event = (await session.execute(select(
        AuditEvent.object_type, AuditEvent.object_id, AuditEvent.actor_id, AuditEvent.actor_role, AuditEvent.detail,
    ).where(AuditEvent.action == "job.retry"))).one()
    assert tuple(event[:4]) == ("job", str(job_id), admin_id, "admin")
    assert event.detail["job"] == "test.flaky"

    failing["now"] = False  # the cause is fixed: the retried job now succeeds, on its first attempt again
    await drain(db, flaky_registry(calls, failing=failing))
    assert calls == [1, 2, 1]
    assert await queue_row(session, job_id) is None  # done: gone from the queue, kept in its log
    again = await client.post(f"/api/v1/admin/jobs/{job_id}/retry", headers=admin)
    assert again.status_code == 409, again.text
    assert (again.json()["type"], again.json()["status"]) == ("urn:fieldlog:problem:conflict", "successful")


async def test_only_a_failed_job_can_be_retried(client: Any, world: Any, session: AsyncSession) -> None:
    queued = await enqueue(session, "test.flaky", {})
    await session.commit()
    admin = await world.headers(client, "admin")
    r = await client.post(f"/api/v1/admin/jobs/{queued}/retry", headers=admin)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == "queued"
    missing = await client.post("/api/v1/admin/jobs/987654/retry", headers=admin)
    assert missing.status_code == 404, missing.text
    assert missing.json()["type"] == "urn:fieldlog:problem:not-found"
    session.expire_all()
    assert await queue_row(session, queued) == ("queued", 0)  # untouched
    audited = (await session.execute(select(AuditEvent.seq).where(AuditEvent.action == "job.retry"))).all()
    assert audited == []


async def test_a_failed_job_whose_work_is_queued_again_is_not_queued_twice(
    client: Any, world: Any, db: Runtime, session: AsyncSession
) -> None:
    calls: list[int] = []
    job_id = await held_failure(db, session, calls, {"now": True}, dedupe_key="test.flaky:one")
    twin = await enqueue(session, "test.flaky", {"n": 2}, dedupe_key="test.flaky:one")
    await session.commit()
    assert twin is not None  # the queue admits a new one: the failed job no longer holds the key
    r = await client.post(f"/api/v1/admin/jobs/{job_id}/retry", headers=await world.headers(client, "admin"))
    assert r.status_code == 409, r.text
    assert r.json()["queued_job_id"] == twin
    session.expire_all()
    assert await queue_row(session, job_id) == ("failed", 1)


@pytest.mark.parametrize("who", ["expert_a", "supervisor_a", "hr"])
async def test_nobody_but_the_admin_retries_a_job(
    client: Any, world: Any, db: Runtime, session: AsyncSession, who: str
) -> None:
    job_id = await held_failure(db, session, [], {"now": True})
    r = await client.post(f"/api/v1/admin/jobs/{job_id}/retry", headers=await world.headers(client, who))
    assert r.status_code == 403, r.text
    anonymous = await client.post(f"/api/v1/admin/jobs/{job_id}/retry")
    assert anonymous.status_code == 401, anonymous.text
    session.expire_all()
    assert await queue_row(session, job_id) == ("failed", 1)


async def test_a_job_number_out_of_range_is_refused_naming_the_parameter(client: Any, world: Any) -> None:
    r = await client.post("/api/v1/admin/jobs/0/retry", headers=await world.headers(client, "admin"))
    assert r.status_code == 422, r.text
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("job_id", "out_of_range")]
