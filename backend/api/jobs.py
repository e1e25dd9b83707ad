"""Admin: the background job queue's state (what waits, what failed, the periodic ticks, busy workers), and
re-queueing a failed job."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.admin import ADMIN
from backend.auth.principal import Principal
from backend.http.problems import problem_responses
from backend.jobs.retry import RequeuedJob, retry_failed
from backend.jobs.status import JobsOverview, overview

JobId = Annotated[int, Parameter(ge=1, le=2**63 - 1, description="the job's number (`id` of `failed`)")]


class JobsController(Controller):
    path = "/api/v1/admin/jobs"
    tags = ["admin"]
    dependencies = ADMIN

    @get("/", operation_id="admin_list_jobs", summary="Job queue: counts by job and state, held failures, "
         "recent events, periodic ticks, busy workers", responses=problem_responses(400, 401, 403))
    async def list_all(self, db: AsyncSession, admin: Principal,
                       limit: Annotated[int, Parameter(ge=1, le=500, description="Events and failures shown")] = 50,
                       ) -> JobsOverview:
        return await overview(db, limit=limit)

    @post("/{job_id:int}/retry", operation_id="admin_retry_job", status_code=202,
          summary="Put a failed (held) job back on the queue: attempts start again from zero, audited",
          responses=problem_responses(400, 401, 403, 404, 409, 422))
    async def retry(self, db: AsyncSession, admin: Principal, job_id: JobId) -> RequeuedJob:
        """404: no job with this number; 409: the job is not failed (queued, running or finished), or the same
        work is already queued again."""
        return await retry_failed(db, admin, job_id)
