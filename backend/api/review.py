"""Back-office review routes: the supervisor's queue, bulk decisions, unapproving, and an entry's history."""

from __future__ import annotations

import uuid
from datetime import date

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.http.deps import requires_role
from backend.http.params import ActivityTypeFilter
from backend.http.problems import problem_responses
from backend.review import decisions, service
from backend.review.queue import QueueFilter, review_queue
from backend.review.schemas import DecisionBatch, DecisionResults, EntryHistory, ReviewQueue, UnapproveRequest
from backend.runtime import Runtime
from backend.worklog.schemas import EntryOut


class ReviewController(Controller):
    path = "/api/v1/review"
    tags = ["review"]

    @get("/queue", operation_id="get_review_queue",
         summary="Submitted entries at my hospitals, by expert and ISO week, with overdue flags",
         responses=problem_responses(400, 401, 403))
    async def queue(self, db: AsyncSession, principal: Principal, runtime: Runtime,
                    institution_id: uuid.UUID | None = None, expert_id: uuid.UUID | None = None,
                    activity_type: ActivityTypeFilter = None, date_from: date | None = None,
                    date_to: date | None = None) -> ReviewQueue:
        requires_role(principal, "supervisor")
        filters = QueueFilter(institution_id=institution_id, expert_id=expert_id, activity_type=activity_type,
                              date_from=date_from, date_to=date_to)
        return await review_queue(db, principal, filters, runtime.settings)

    @post("/decisions", operation_id="decide_entries", status_code=200,
          summary="Approve or return up to 500 entries; one result per decision",
          responses=problem_responses(400, 401, 403, 413, 415, 422))
    async def decide(self, data: DecisionBatch, db: AsyncSession, principal: Principal,
                     runtime: Runtime) -> DecisionResults:
        requires_role(principal, "supervisor")
        return await decisions.decide(db, principal, data.decisions, runtime.settings)

    @post("/unapprove", operation_id="unapprove_entry", status_code=200,
          summary="Reopen an approved entry as returned, with a reason (supervisor or admin)",
          responses=problem_responses(400, 401, 403, 404, 409, 415, 422))
    async def unapprove(self, data: UnapproveRequest, db: AsyncSession, principal: Principal,
                        runtime: Runtime) -> EntryOut:
        requires_role(principal, "supervisor", "admin")
        return await decisions.unapprove(db, principal, data, runtime.settings)


class EntryHistoryController(Controller):
    path = "/api/v1/entries"
    tags = ["review"]

    @get("/{entry_id:uuid}/history", operation_id="get_entry_history",
         summary="An entry's versions and audit events (and its revisions)",
         responses=problem_responses(401, 404))
    async def history(self, entry_id: uuid.UUID, db: AsyncSession, principal: Principal) -> EntryHistory:
        return await service.entry_history(db, principal, entry_id)
