"""The export job and its queries on a real PostgreSQL: figures, claiming once, failing cleanly."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents import queries
from backend.export import produce, runner
from backend.models import Entry, ExportFile, ExportJob
from backend.runtime import Runtime
from tests.factories import make_deployment

PERIOD = (date(2025, 1, 1), date(2025, 12, 31))


async def add(
    session: AsyncSession,
    world: Any,
    day: date,
    activity_type: str,
    fields: dict[str, Any],
    deployment: Any = None,
    **kw: Any,
) -> Entry:
    dep = deployment or world.deployment_a
    entry = Entry(
        id=uuid.uuid4(),
        expert_id=world.expert_a.id,
        deployment_id=dep.id,
        institution_id=dep.recipient_id,
        work_date=day,
        activity_type=activity_type,
        fields=fields,
        content_hash="0" * 64,
        status=kw.pop("status", "approved"),
        reviewed_by=world.supervisor_a.id,
        reviewed_at=datetime.now(UTC),
        **kw,
    )
    session.add(entry)
    await session.flush()
    return entry


async def queued_job(session: AsyncSession, world: Any, formats: list[str]) -> ExportJob:
    job = ExportJob(
        id=uuid.uuid4(),
        expert_id=world.expert_a.id,
        requested_by=world.hr.id,
        date_from=PERIOD[0],
        date_to=PERIOD[1],
        formats=formats,
        status="queued",
        progress=0,
        verification_code=uuid.uuid4().hex[:12].upper(),
    )
    session.add(job)
    await session.commit()
    return job


async def test_figures_follow_the_statistics_definitions(session: AsyncSession, world: Any) -> None:
    trainee = str(uuid.uuid4())
    await add(session, world, date(2025, 2, 3), "mentoring", {"trainee_id": trainee})
    await add(session, world, date(2025, 3, 3), "mentoring", {"trainee_id": trainee.upper()})
    await add(session, world, date(2025, 3, 4), "mentoring", {"trainee_id": str(uuid.uuid4())})
    await add(session, world, date(2025, 3, 5), "emergency", {"condition": "休克"})  # one patient by default
    await add(session, world, date(2025, 3, 6), "teaching_round", {"attendees": 9})
    await add(
        session,
        world,
        date(2025, 3, 7),
        "surgery",
        {"procedure_name": "x", "grade": "grade_4", "role": "primary"},
    )
    await add(session, world, date(2025, 3, 8), "attendance", {"status": "travel"})
    await add(
        session,
        world,
        date(2025, 3, 9),
        "clinic",
        {"session": "am", "patients_first_visit": 4},
        deleted_at=datetime.now(UTC),
    )
    cancelled = await make_deployment(session, world.expert_a, world.hospital_b, status="cancelled")
    await add(
        session,
        world,
        date(2025, 3, 10),
        "clinic",
        {"session": "am", "patients_first_visit": 50},
        deployment=cancelled,
    )
    await session.commit()

    totals, months = await queries.figures(session, world.expert_a.id, *PERIOD)
    assert (totals.trainees, totals.patients, totals.attendees, totals.surgeries, totals.travel_days) == (
        2,
        1,
        9,
        1,
        1,
    )
    assert totals.entries == 7
    march = next(m for m in months if m.month == "2025-03")
    assert march.figures.trainees == 2  # distinct per month too, not summed
    assert len(months) == 12
    surgeries = await queries.surgery_counts(session, world.expert_a.id, *PERIOD)
    assert [(s.grade_label, s.role_label, s.count) for s in surgeries] == [("四级", "主刀", 1)]
    recent = (date.today() - timedelta(days=30), date.today())
    stays = await queries.deployments(session, world.expert_a.id, *recent)
    assert [(d.recipient, d.post) for d in stays] == [
        ("甲县人民医院", "副院长")
    ]  # the cancelled stay is left out


async def test_a_job_is_rendered_once_even_if_started_twice(
    db: Runtime, session: AsyncSession, world: Any
) -> None:
    await add(session, world, date(2025, 3, 3), "clinic", {"session": "am", "patients_first_visit": 4})
    job = await queued_job(session, world, ["csv", "pdf"])
    await asyncio.gather(*(runner.run_export(db.sessionmaker, db.settings, job.id) for _ in range(2)))
    await session.refresh(job)
    assert (job.status, job.progress) == ("done", 100)
    assert job.statement is not None
    assert job.statement["totals"]["patients"] == 4
    files = (
        (await session.execute(select(ExportFile.format).where(ExportFile.export_id == job.id)))
        .scalars()
        .all()
    )
    assert sorted(files) == ["csv", "pdf"]


async def test_a_failing_render_leaves_the_job_failed_without_files(
    db: Runtime, session: AsyncSession, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(produce.RENDERERS, "xlsx", broken)
    job = await queued_job(session, world, ["pdf", "xlsx"])
    await runner.run_export(db.sessionmaker, db.settings, job.id)
    await session.refresh(job)
    assert job.status == "failed"
    assert job.error is not None
    assert "RuntimeError" in job.error
    assert "disk on fire" not in job.error  # internals stay in the log
    files = (await session.execute(select(ExportFile).where(ExportFile.export_id == job.id))).scalars().all()
    assert files == []


async def test_a_queued_export_waits_for_the_queue_however_long_only_a_silent_running_one_fails(
        session: AsyncSession, world: Any) -> None:
    from backend.export.service import fail_if_stale

    waiting = await queued_job(session, world, ["pdf"])
    silent = await queued_job(session, world, ["pdf"])
    silent.status = "running"
    await session.commit()
    await asyncio.sleep(0.01)
    for job in (waiting, silent):
        await fail_if_stale(session, job.id, timedelta(0))
    await session.commit()
    await session.refresh(waiting)
    await session.refresh(silent)
    # A busy queue (a promotion round ahead of it) is no failure: the job will run when a worker is free.
    assert waiting.status == "queued"
    assert (silent.status, silent.error is not None) == ("failed", True)
