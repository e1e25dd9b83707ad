"""Backbone trainees: recorded once at a recipient hospital, referred to by id in mentoring entries."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.http.deps import requires_role
from backend.http.problems import problem_responses
from backend.worklog.trainees import TraineeCreate, TraineeOut, create_trainee, list_trainees


class TraineeController(Controller):
    path = "/api/v1/trainees"
    tags = ["trainees"]

    @post(operation_id="create_trainee", status_code=201,
          summary="Record a trainee at one of my deployment hospitals",
          description="201 when created; the same id with the same details again answers 200.",
          responses=problem_responses(400, 401, 403, 409, 413, 415, 422))
    async def create(self, data: TraineeCreate, db: AsyncSession, principal: Principal) -> Response[TraineeOut]:
        requires_role(principal, "expert")
        trainee, created = await create_trainee(db, principal, data)
        return Response(content=trainee, status_code=201 if created else 200)

    @get(operation_id="list_trainees", summary="Trainees at my deployment (or supervised) hospitals",
         responses=problem_responses(400, 401))
    async def list(self, db: AsyncSession, principal: Principal, institution_id: uuid.UUID | None = None,
                   limit: Annotated[int, Parameter(ge=1, le=500)] = 500) -> list[TraineeOut]:
        return await list_trainees(db, principal, institution_id=institution_id, limit=limit)
