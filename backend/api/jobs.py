"""Admin: the background job queue's state (what waits, what failed, the periodic ticks, busy workers)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.admin import ADMIN
from backend.auth.principal import Principal
from backend.http.problems import problem_responses
from backend.jobs.status import JobsOverview, overview


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
