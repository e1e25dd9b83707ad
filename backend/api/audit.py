"""Reading the audit trail: admins see everything, supervisors the events of their hospitals."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.queries import AuditPage, list_events
from backend.auth.principal import Principal
from backend.http.deps import requires_role
from backend.http.problems import problem_responses


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("", operation_id="list_audit_events", summary="Audit events of an object (or all in scope), oldest first",
         responses=problem_responses(400, 401, 403))
    async def list_events(
        self,
        db: AsyncSession,
        principal: Principal,
        object_type: Annotated[str | None, Parameter(max_length=40)] = None,
        object_id: Annotated[str | None, Parameter(max_length=100)] = None,
        # `minimum` spelled out: Litestar publishes no ge=0 on an optional parameter (0 reads as unset)
        after_seq: Annotated[int | None, Parameter(ge=0, le=2**63 - 1, schema_extra={"minimum": 0})] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> AuditPage:
        requires_role(principal, "admin", "supervisor")
        return await list_events(db, principal, object_type=object_type, object_id=object_id, after_seq=after_seq,
                                 limit=limit)
