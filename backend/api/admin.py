"""Back office (admin role): institutions, agreements with yearly targets, deployments."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.admin import agreements, deployments, institutions
from backend.admin import schemas as s
from backend.auth.principal import Principal
from backend.http.deps import requires_role
from backend.http.params import PathYear, Search, Tag, Year
from backend.http.problems import problem_responses

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000, description="Rows to skip")]
READ = problem_responses(400, 401, 403)
ONE = problem_responses(400, 401, 403, 404)
WRITE = problem_responses(400, 401, 403, 404, 409, 413, 415, 422)


async def provide_admin(principal: NamedDependency[Principal]) -> Principal:
    """The role guard of the back office."""
    return requires_role(principal, "admin")


ADMIN = {"admin": Provide(provide_admin)}


class InstitutionsController(Controller):
    path = "/api/v1/admin/institutions"
    tags = ["admin"]
    dependencies = ADMIN

    @post("/", operation_id="admin_create_institution", summary="Register an institution", responses=WRITE)
    async def create(self, data: s.InstitutionCreate, db: AsyncSession, admin: Principal) -> s.Institution:
        return await institutions.create_institution(db, admin, data)

    @get("/", operation_id="admin_list_institutions", summary="List institutions (kind, region code, search)",
         responses=READ)
    async def list_all(self, db: AsyncSession, admin: Principal, kind: s.InstitutionKind | None = None,
                   region: Tag = None, q: Search = None, is_tcm: bool | None = None,
                   limit: Limit = 50, offset: Offset = 0) -> s.InstitutionPage:
        return await institutions.list_institutions(db, kind=kind, region=region, q=q, is_tcm=is_tcm,
                                                    limit=limit, offset=offset)

    @get("/{institution_id:uuid}", operation_id="admin_get_institution", summary="One institution", responses=ONE)
    async def get(self, institution_id: uuid.UUID, db: AsyncSession, admin: Principal) -> s.Institution:
        return await institutions.get_institution(db, institution_id)

    @patch("/{institution_id:uuid}", operation_id="admin_update_institution", summary="Change an institution",
           responses=WRITE)
    async def update(self, institution_id: uuid.UUID, data: s.InstitutionUpdate, db: AsyncSession,
                     admin: Principal) -> s.Institution:
        return await institutions.update_institution(db, admin, institution_id, data)


class AgreementsController(Controller):
    path = "/api/v1/admin/agreements"
    tags = ["admin"]
    dependencies = ADMIN

    @post("/", operation_id="admin_create_agreement",
          summary="Pair a supporting hospital with a recipient under a programme", responses=WRITE)
    async def create(self, data: s.AgreementCreate, db: AsyncSession, admin: Principal) -> s.Agreement:
        return await agreements.create_agreement(db, admin, data)

    @get("/", operation_id="admin_list_agreements", summary="List agreements (party, programme, year)", responses=READ)
    async def list_all(self, db: AsyncSession, admin: Principal, supporting_id: uuid.UUID | None = None,
                   recipient_id: uuid.UUID | None = None, institution_id: uuid.UUID | None = None,
                   programme: s.Programme | None = None, year: Year = None,
                   limit: Limit = 50, offset: Offset = 0) -> s.AgreementPage:
        return await agreements.list_agreements(db, supporting_id=supporting_id, recipient_id=recipient_id,
                                                institution_id=institution_id, programme=programme, year=year,
                                                limit=limit, offset=offset)

    @get("/{agreement_id:uuid}", operation_id="admin_get_agreement", summary="One agreement with its targets",
         responses=ONE)
    async def get(self, agreement_id: uuid.UUID, db: AsyncSession, admin: Principal) -> s.Agreement:
        return await agreements.get_agreement(db, agreement_id)

    @patch("/{agreement_id:uuid}", operation_id="admin_update_agreement", summary="Change an agreement",
           responses=WRITE)
    async def update(self, agreement_id: uuid.UUID, data: s.AgreementUpdate, db: AsyncSession,
                     admin: Principal) -> s.Agreement:
        return await agreements.update_agreement(db, admin, agreement_id, data)

    @put("/{agreement_id:uuid}/targets/{year:int}", operation_id="admin_put_agreement_targets",
         summary="Set a year's targets (omitted fields take the national defaults)", responses=WRITE)
    async def put_targets(self, agreement_id: uuid.UUID, year: PathYear, data: s.TargetsPut, db: AsyncSession,
                          admin: Principal) -> s.Targets:
        return await agreements.put_targets(db, admin, agreement_id, year, data)


class DeploymentsController(Controller):
    path = "/api/v1/admin/deployments"
    tags = ["admin"]
    dependencies = ADMIN

    @post("/", operation_id="admin_create_deployment", summary="Station an expert at a recipient institution",
          responses=WRITE)
    async def create(self, data: s.DeploymentCreate, db: AsyncSession, admin: Principal) -> s.Deployment:
        return await deployments.create_deployment(db, admin, data)

    @get("/", operation_id="admin_list_deployments", summary="List deployments (expert, recipient, status, date)",
         responses=READ)
    async def list_all(self, db: AsyncSession, admin: Principal, expert_id: uuid.UUID | None = None,
                   recipient_id: uuid.UUID | None = None, agreement_id: uuid.UUID | None = None,
                   status: s.DeploymentStatus | None = None, active_on: date | None = None,
                   limit: Limit = 50, offset: Offset = 0) -> s.DeploymentPage:
        return await deployments.list_deployments(db, expert_id=expert_id, recipient_id=recipient_id,
                                                  agreement_id=agreement_id, status=status, active_on=active_on,
                                                  limit=limit, offset=offset)

    @get("/{deployment_id:uuid}", operation_id="admin_get_deployment", summary="One deployment", responses=ONE)
    async def get(self, deployment_id: uuid.UUID, db: AsyncSession, admin: Principal) -> s.Deployment:
        return await deployments.get_deployment(db, deployment_id)

    @patch("/{deployment_id:uuid}", operation_id="admin_update_deployment",
           summary="End, cancel or amend a deployment (the expert's phone is told)", responses=WRITE)
    async def update(self, deployment_id: uuid.UUID, data: s.DeploymentUpdate, db: AsyncSession,
                     admin: Principal) -> s.Deployment:
        return await deployments.update_deployment(db, admin, deployment_id, data)
