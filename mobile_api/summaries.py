"""Phone routes of the monthly summary and the appraisal: the expert writes, submits and signs their own."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Response, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.stats import today_of
from backend.appraisal import service as appraisals
from backend.appraisal.schemas import AppraisalOut, SelfAssessment
from backend.auth.principal import Principal
from backend.http.deps import requires_role
from backend.http.params import Month
from backend.http.problems import problem_responses
from backend.reports import summaries
from backend.reports.schemas import MonthlySummaryOut, SummaryWrite
from backend.runtime import Runtime

WRITE = problem_responses(400, 401, 403, 404, 409, 413, 415, 422)


class SummarySubmit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Submit for review; the text may come along (else the saved text is sent)."""

    narrative: str | None = None


class MySummaryController(Controller):
    path = "/api/v1/experts/{expert_id:uuid}/summaries"
    tags = ["reports"]

    @put("/{month:str}/text", operation_id="save_monthly_summary",
         summary="Write the free text of my monthly summary (draft or returned); the month must be over",
         responses=WRITE)
    async def save(self, expert_id: uuid.UUID, month: Month, data: SummaryWrite, db: AsyncSession,
                   principal: Principal, runtime: Runtime) -> MonthlySummaryOut:
        requires_role(principal, "expert")
        return await summaries.save_summary(db, principal, expert_id, month, data.narrative, today_of(runtime))

    @post("/{month:str}/submit", operation_id="submit_monthly_summary", status_code=200,
          summary="Send my monthly summary for review; the month's figures are frozen into it", responses=WRITE)
    async def submit(self, expert_id: uuid.UUID, month: Month, data: SummarySubmit, db: AsyncSession,
                     principal: Principal, runtime: Runtime) -> MonthlySummaryOut:
        requires_role(principal, "expert")
        return await summaries.submit_summary(db, principal, expert_id, month, data.narrative, today_of(runtime))


class SelfAssessmentController(Controller):
    path = "/api/v1/deployments/{deployment_id:uuid}/appraisals"
    tags = ["appraisals"]

    @post("/self-assessment", operation_id="self_assess_appraisal", status_code=201,
          summary="Sign my self-assessment of an open appraisal period of my stay (locked once signed)",
          responses=WRITE)
    async def self_assess(self, deployment_id: uuid.UUID, data: SelfAssessment, db: AsyncSession,
                          principal: Principal, runtime: Runtime) -> Response[AppraisalOut]:
        requires_role(principal, "expert")
        out = await appraisals.self_assess(db, principal, deployment_id, data, today_of(runtime))
        return Response(out, status_code=201)
