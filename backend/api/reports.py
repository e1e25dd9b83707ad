"""Reports: the expert's monthly summary (read, review, documents) and the annual programme report per agreement."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, MediaType, Response, get, post
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.exports import content_disposition
from backend.api.stats import today_of
from backend.audit import writer as audit
from backend.auth.principal import Principal
from backend.http.deps import requires_role
from backend.http.params import DocumentFormat, Month, MonthFilter, Year
from backend.http.problems import problem_responses
from backend.reports import summaries
from backend.reports.annual import AnnualReport, annual_report
from backend.reports.issue import IssuedFile, issue_annual, issue_summary
from backend.reports.schemas import MonthlySummaryOut, SummaryListItem, SummaryReview
from backend.runtime import Runtime

SummaryStateFilter = Literal["draft", "submitted", "approved", "returned"]


def file_response(file: IssuedFile) -> Response[bytes]:
    return Response(file.content, media_type=file.content_type, headers={
        "Content-Disposition": content_disposition(file.file_name), "ETag": f'"{file.sha256}"',
        "X-Verification-Code": file.verification_code, "Cache-Control": "private, no-store"})


class SummaryController(Controller):
    path = "/api/v1"
    tags = ["reports"]

    @get("/experts/{expert_id:uuid}/summaries/{month:str}", operation_id="get_monthly_summary",
         summary="An expert's monthly summary (月度工作小结): saved, or the draft the month's logs give",
         responses=problem_responses(401, 404, 422))
    async def get_one(self, expert_id: uuid.UUID, month: Month, db: AsyncSession, principal: Principal,
                      runtime: Runtime) -> MonthlySummaryOut:
        return await summaries.get_summary(db, principal, expert_id, month, today_of(runtime))

    @get("/experts/{expert_id:uuid}/summaries/{month:str}/files/{fmt:str}",
         operation_id="download_monthly_summary", media_type=MediaType.TEXT,
         summary="The monthly summary as a signed PDF or an XLSX workbook, with its own verification code",
         responses=problem_responses(401, 404, 422))
    async def download(self, expert_id: uuid.UUID, month: Month, fmt: DocumentFormat, db: AsyncSession, principal: Principal,
                       runtime: Runtime) -> Response[bytes]:
        view = await summaries.get_summary(db, principal, expert_id, month, today_of(runtime))
        file = await issue_summary(db, principal, view, fmt, runtime.settings)
        await audit.record(db, principal, "summary.issue", "expert", expert_id,
                           detail={"month": view.month, "format": fmt, "code": file.verification_code})
        return file_response(file)

    @post("/experts/{expert_id:uuid}/summaries/{month:str}/review", operation_id="review_monthly_summary",
          status_code=200, summary="Approve, or return with a comment, a submitted monthly summary",
          responses=problem_responses(400, 401, 403, 404, 409, 415, 422))
    async def review(self, expert_id: uuid.UUID, month: Month, data: SummaryReview, db: AsyncSession,
                     principal: Principal, runtime: Runtime) -> MonthlySummaryOut:
        requires_role(principal, "supervisor")
        return await summaries.review_summary(db, principal, expert_id, month, data.action, data.comment,
                                              today_of(runtime))

    @get("/summaries", operation_id="list_monthly_summaries",
         summary="Monthly summaries in my scope (a supervisor: of experts stationed at my hospitals that month)",
         responses=problem_responses(401, 422))
    async def list_all(self, db: AsyncSession, principal: Principal,
                       state_: Annotated[SummaryStateFilter | None, QueryParameter(name="state")] = None,
                       month: MonthFilter = None) -> list[SummaryListItem]:
        return await summaries.list_summaries(db, principal, state=state_, month_text=month)


class AnnualReportController(Controller):
    path = "/api/v1/reports/agreements"
    tags = ["reports"]

    @get("/{agreement_id:uuid}", operation_id="get_annual_report",
         summary="An agreement's annual programme report (年度帮扶工作报告): indicators against targets, "
                 "teams by month, workload, ratings, what is missing (admins, the supporting hospital's HR)",
         responses=problem_responses(401, 403, 404, 422))
    async def get_one(self, agreement_id: uuid.UUID, db: AsyncSession, principal: Principal, runtime: Runtime,
                      year: Year = None,
                      ) -> AnnualReport:
        requires_role(principal, "hr", "admin")
        today = today_of(runtime)
        return await annual_report(db, principal, agreement_id, year=year or today.year, today=today)

    @get("/{agreement_id:uuid}/files/{fmt:str}", operation_id="download_annual_report", media_type=MediaType.TEXT,
         summary="The annual programme report as a signed PDF or an XLSX workbook",
         responses=problem_responses(401, 403, 404, 422))
    async def download(self, agreement_id: uuid.UUID, fmt: DocumentFormat, db: AsyncSession, principal: Principal,
                       runtime: Runtime,
                       year: Year = None,
                       ) -> Response[bytes]:
        requires_role(principal, "hr", "admin")
        today = today_of(runtime)
        report = await annual_report(db, principal, agreement_id, year=year or today.year, today=today)
        file = await issue_annual(db, principal, report, fmt, runtime.settings)
        await audit.record(db, principal, "annual_report.issue", "agreement", agreement_id,
                           detail={"year": report.year, "format": fmt, "code": file.verification_code})
        return file_response(file)
