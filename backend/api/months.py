"""Admin: closing and reopening a hospital's month (entries dated in a closed month are locked)."""

from __future__ import annotations

from litestar import Controller, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.http.deps import requires_role
from backend.http.problems import problem_responses
from backend.review import months
from backend.review.schemas import MonthClosureOut, MonthRequest


class MonthsController(Controller):
    path = "/api/v1/admin/months"
    tags = ["admin"]

    @post("/close", operation_id="close_month", status_code=200,
          summary="Close a month for a hospital: its entries are locked with reason month_closed",
          responses=problem_responses(400, 401, 403, 404, 409, 415, 422))
    async def close(self, data: MonthRequest, db: AsyncSession, principal: Principal) -> MonthClosureOut:
        requires_role(principal, "admin")
        return await months.close_month(db, principal, data)

    @post("/reopen", operation_id="reopen_month", status_code=200,
          summary="Reopen a closed month (reason required)",
          responses=problem_responses(400, 401, 403, 404, 415, 422))
    async def reopen(self, data: MonthRequest, db: AsyncSession, principal: Principal) -> MonthClosureOut:
        requires_role(principal, "admin")
        return await months.reopen_month(db, principal, data)
