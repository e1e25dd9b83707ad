"""Phone-side review routes: submit one entry, submit a week's drafts, start a revision of an approved entry."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.http.deps import requires_role
from backend.http.problems import problem_responses
from backend.review import service
from backend.review.schemas import SubmitRequest, SubmitWeekRequest
from backend.runtime import Runtime
from backend.worklog.schemas import EntryCreate, EntryOut


class EntryReviewController(Controller):
    path = "/api/v1/entries"
    tags = ["review"]

    @post("/{entry_id:uuid}/submit", operation_id="submit_entry", status_code=200,
          summary="Send a draft or returned entry for review",
          responses=problem_responses(400, 401, 403, 404, 409, 415, 422))
    async def submit(self, entry_id: uuid.UUID, data: SubmitRequest, db: AsyncSession, principal: Principal,
                     runtime: Runtime) -> EntryOut:
        requires_role(principal, "expert")
        return await service.submit_entry(db, principal, entry_id, data.expected_version, runtime.settings)

    @post("/submit-week", operation_id="submit_week", status_code=200,
          summary="Submit every draft of a deployment in one ISO week; answers the entries submitted",
          responses=problem_responses(400, 401, 403, 404, 415, 422))
    async def submit_week(self, data: SubmitWeekRequest, db: AsyncSession, principal: Principal,
                          runtime: Runtime) -> list[EntryOut]:
        requires_role(principal, "expert")
        return await service.submit_week(db, principal, data.deployment_id, data.week_start, runtime.settings)

    @post("/{entry_id:uuid}/revisions", operation_id="create_revision",
          summary="Start a correction of an approved entry (a new draft that needs approval again)",
          responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422))
    async def create_revision(self, entry_id: uuid.UUID, data: EntryCreate, db: AsyncSession, principal: Principal,
                              runtime: Runtime) -> Response[EntryOut]:
        requires_role(principal, "expert")
        out, created = await service.create_revision(db, principal, entry_id, data, runtime.settings)
        return Response(out, status_code=201 if created else 200)
