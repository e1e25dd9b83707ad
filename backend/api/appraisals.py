"""End-of-stay appraisals (派驻期满考核鉴定) of a deployment: read, the supervisor's rating, HR's countersignature."""

from __future__ import annotations

import uuid
from datetime import date

from litestar import Controller, MediaType, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.reports import file_response
from backend.api.stats import today_of
from backend.appraisal import service
from backend.appraisal.document import issue_appraisal
from backend.appraisal.schemas import AppraisalOut, CountersignIn, RatingIn
from backend.audit import writer as audit
from backend.auth.principal import Principal
from backend.documents.queries import expert_header
from backend.errors import FieldError, InvalidInput
from backend.http.deps import requires_role
from backend.http.params import DayText, DocumentFormat
from backend.http.problems import problem_responses
from backend.runtime import Runtime

WRITE = problem_responses(400, 401, 403, 404, 409, 415, 422)


def period_start_of(text: str) -> date:
    # A plain string in the path, parsed here, so a malformed date is a field error (and 401 comes first).
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(errors=[FieldError(field="period_start", code="invalid_date",
                                              message="A date as YYYY-MM-DD.")]) from None


class AppraisalController(Controller):
    path = "/api/v1/deployments/{deployment_id:uuid}/appraisals"
    tags = ["appraisals"]

    @get("/", operation_id="list_appraisals",
         summary="The stay's appraisal periods (end of stay, or each year of a long one) and their appraisals",
         responses=problem_responses(401, 404))
    async def list_all(self, deployment_id: uuid.UUID, db: AsyncSession, principal: Principal,
                       runtime: Runtime) -> list[AppraisalOut]:
        return await service.list_appraisals(db, principal, deployment_id, today_of(runtime))

    @get("/{period_start:str}/files/{fmt:str}", operation_id="download_appraisal", media_type=MediaType.TEXT,
         summary="The appraisal form (派驻期满考核鉴定表) as a signed PDF or an XLSX workbook",
         responses=problem_responses(401, 404, 422))
    async def download(self, deployment_id: uuid.UUID, period_start: DayText, fmt: DocumentFormat, db: AsyncSession,
                       principal: Principal, runtime: Runtime) -> Response[bytes]:
        appraisal = await service.get_appraisal(db, principal, deployment_id, period_start_of(period_start),
                                                today_of(runtime))
        expert = await expert_header(db, appraisal.expert_id)
        assert expert is not None  # the stay's expert exists (foreign key)
        file = await issue_appraisal(db, principal, appraisal, expert, fmt, runtime.settings)
        await audit.record(db, principal, "appraisal.issue", "deployment", deployment_id,
                           detail={"period_start": period_start, "format": fmt, "code": file.verification_code})
        return file_response(file)

    @post("/{period_start:str}/rating", operation_id="rate_appraisal", status_code=200,
          summary="The recipient supervisor's rating (优秀 / 合格 / 不合格) with comments; freezes the figures",
          responses=WRITE)
    async def rate(self, deployment_id: uuid.UUID, period_start: DayText, data: RatingIn, db: AsyncSession,
                   principal: Principal, runtime: Runtime) -> AppraisalOut:
        requires_role(principal, "supervisor")
        return await service.rate(db, principal, deployment_id, period_start_of(period_start), data,
                                  today_of(runtime))

    @post("/{period_start:str}/countersign", operation_id="countersign_appraisal", status_code=200,
          summary="HR of the home hospital countersigns a rated appraisal; it is locked from then on",
          responses=WRITE)
    async def countersign(self, deployment_id: uuid.UUID, period_start: DayText, data: CountersignIn, db: AsyncSession,
                          principal: Principal, runtime: Runtime) -> AppraisalOut:
        requires_role(principal, "hr")
        return await service.countersign(db, principal, deployment_id, period_start_of(period_start), data,
                                         today_of(runtime))
