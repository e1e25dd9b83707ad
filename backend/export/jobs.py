"""The export feature's jobs on the queue: rendering one evidence export and building one promotion round.

The names and handlers live with the feature; which jobs a worker runs, and with which retry policy, is
decided by the catalogue (backend/job_catalog.py), which imports this module (never the other way round).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.export.round_job import run_job
from backend.export.rounds import JOB as ROUND
from backend.export.runner import run_export
from backend.jobs.queue import enqueue
from backend.jobs.registry import JobContext

EXPORT = "export.render"

__all__ = ["EXPORT", "ROUND", "enqueue_export", "render_export", "run_round"]


async def enqueue_export(session: AsyncSession, export_id: uuid.UUID) -> int | None:
    """Queue the rendering of an export in the transaction that created it."""
    return await enqueue(session, EXPORT, {"export_id": str(export_id)}, dedupe_key=f"{EXPORT}:{export_id}")


async def render_export(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Render one export (backend/export/runner.py) with the worker's database."""
    await run_export(ctx.runtime.sessionmaker, ctx.runtime.settings, uuid.UUID(payload["export_id"]))


async def run_round(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Build one promotion round's archive (backend/export/round_job.py)."""
    await run_job(ctx, payload)
