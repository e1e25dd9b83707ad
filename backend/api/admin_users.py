"""Back office: user accounts, role grants and devices (admin); experts in scope (supervisor, HR)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.admin import accounts, experts
from backend.admin import schemas as s
from backend.api.admin import ADMIN, ONE, READ, WRITE, Limit, Offset
from backend.auth.principal import Principal
from backend.http.deps import requires_role
from backend.http.params import Search
from backend.http.problems import problem_responses

PathId = Annotated[str, Parameter(min_length=8, max_length=100)]


class UsersController(Controller):
    path = "/api/v1/admin/users"
    tags = ["admin"]
    dependencies = ADMIN

    @post("/", operation_id="admin_create_user", summary="Create a user with role grants", responses=WRITE)
    async def create(self, data: s.UserCreate, db: AsyncSession, admin: Principal) -> s.User:
        return await accounts.create_account(db, admin, data)

    @get("/", operation_id="admin_list_users", summary="Search users (name, username, phone; role; institution)",
         responses=READ)
    async def list_all(self, db: AsyncSession, admin: Principal, q: Search = None, role: s.Role | None = None,
                       institution_id: uuid.UUID | None = None, active: bool | None = None, limit: Limit = 50,
                       offset: Offset = 0) -> s.UserPage:
        return await accounts.list_users(db, q=q, role=role, institution_id=institution_id, active=active,
                                         limit=limit, offset=offset)

    @get("/{user_id:uuid}", operation_id="admin_get_user", summary="One user with roles and devices", responses=ONE)
    async def get(self, user_id: uuid.UUID, db: AsyncSession, admin: Principal) -> s.User:
        return await accounts.get_user(db, user_id)

    @patch("/{user_id:uuid}", operation_id="admin_update_user", summary="Change a user's profile", responses=WRITE)
    async def update(self, user_id: uuid.UUID, data: s.UserUpdate, db: AsyncSession, admin: Principal) -> s.User:
        return await accounts.update_user(db, admin, user_id, data)

    @post("/{user_id:uuid}/disable", operation_id="admin_disable_user", status_code=200,
          summary="Disable a user: every token stops at once", responses=problem_responses(401, 403, 404, 409))
    async def disable(self, user_id: uuid.UUID, db: AsyncSession, admin: Principal) -> s.User:
        return await accounts.set_active(db, admin, user_id, False)

    @post("/{user_id:uuid}/enable", operation_id="admin_enable_user", status_code=200, summary="Enable a user again",
          responses=problem_responses(401, 403, 404))
    async def enable(self, user_id: uuid.UUID, db: AsyncSession, admin: Principal) -> s.User:
        return await accounts.set_active(db, admin, user_id, True)

    @post("/{user_id:uuid}/password", operation_id="admin_reset_password", status_code=204,
          summary="Set a new password and sign the user out everywhere", responses=WRITE)
    async def reset_password(self, user_id: uuid.UUID, data: s.PasswordReset, db: AsyncSession,
                             admin: Principal) -> None:
        await accounts.reset_password(db, admin, user_id, data.password)

    @post("/{user_id:uuid}/roles", operation_id="admin_grant_role",
          summary="Grant a role (supervisor and HR scoped to an institution)", responses=WRITE)
    async def grant(self, user_id: uuid.UUID, data: s.RoleGrantCreate, db: AsyncSession,
                    admin: Principal) -> s.RoleGrant:
        return await accounts.grant_role(db, admin, user_id, data)

    @delete("/{user_id:uuid}/roles/{grant_id:uuid}", operation_id="admin_revoke_role", summary="Revoke a role grant",
            responses=problem_responses(401, 403, 404, 409))
    async def revoke(self, user_id: uuid.UUID, grant_id: uuid.UUID, db: AsyncSession, admin: Principal) -> None:
        await accounts.revoke_role(db, admin, user_id, grant_id)


class DevicesController(Controller):
    path = "/api/v1/admin/devices"
    tags = ["admin"]
    dependencies = ADMIN

    @delete("/{device_id:str}", operation_id="admin_release_device",
            summary="Release a phone so another user can sign in on it (its sessions end)",
            responses=problem_responses(400, 401, 403, 404, 409))
    async def release(self, device_id: PathId, db: AsyncSession, admin: Principal) -> None:
        await accounts.release_device(db, admin, device_id)


class ExpertsController(Controller):
    """Experts as supervisors (stationed at their hospitals) and HR (employed by their hospital) see them."""

    path = "/api/v1/experts"
    tags = ["experts"]

    @get("/", operation_id="list_experts", summary="Experts in my scope (supervisor: stationed here; HR: ours)",
         responses=READ)
    async def list_all(self, db: AsyncSession, principal: Principal, institution_id: uuid.UUID | None = None,
                       q: Search = None, limit: Limit = 50, offset: Offset = 0) -> s.ExpertPage:
        requires_role(principal, "supervisor", "hr", "admin")
        return await experts.list_experts(db, principal, institution_id=institution_id, q=q, limit=limit,
                                          offset=offset)

    @get("/{expert_id:uuid}", operation_id="get_expert", summary="One expert in my scope", responses=ONE)
    async def get(self, expert_id: uuid.UUID, db: AsyncSession, principal: Principal) -> s.Expert:
        requires_role(principal, "supervisor", "hr", "admin")
        return await experts.get_expert(db, principal, expert_id)
