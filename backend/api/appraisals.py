"""End-of-stay appraisals (派驻期满考核鉴定) of a deployment: read, the supervisor's rating, HR's countersignature."""

from __future__ import annotations

import uuid
from datetime import date

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.stats import today_of
from backend.appraisal import service
from backend.appraisal.schemas import AppraisalOut, CountersignIn, RatingIn
from backend.auth.principal import Principal
from backend.errors import FieldError, InvalidInput
from backend.http.deps import requires_role
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

    @post("/{period_start:str}/rating", operation_id="rate_appraisal", status_code=200,
          summary="The recipient supervisor's rating (优秀 / 合格 / 不合格) with comments; freezes the figures",
          responses=WRITE)
    async def rate(self, deployment_id: uuid.UUID, period_start: str, data: RatingIn, db: AsyncSession,
                   principal: Principal, runtime: Runtime) -> AppraisalOut:
        requires_role(principal, "supervisor")
        return await service.rate(db, principal, deployment_id, period_start_of(period_start), data,
                                  today_of(runtime))

    @post("/{period_start:str}/countersign", operation_id="countersign_appraisal", status_code=200,
          summary="HR of the home hospital countersigns a rated appraisal; it is locked from then on",
          responses=WRITE)
    async def countersign(self, deployment_id: uuid.UUID, period_start: str, data: CountersignIn, db: AsyncSession,
                          principal: Principal, runtime: Runtime) -> AppraisalOut:
        requires_role(principal, "hr")
        return await service.countersign(db, principal, deployment_id, period_start_of(period_start), data,
                                         today_of(runtime))
