"""Sign-in, refresh, sign-out and the caller's profile: the paths are part of the phone contract."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import service
from backend.auth.principal import Principal
from backend.auth.profile import Profile, profile_of
from backend.auth.service import TokenPair
from backend.http.client import client_address
from backend.http.problems import problem_responses
from backend.runtime import Runtime


class LoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Credentials and the phone's own stable device id (the device is registered to the user)."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    device_id: Annotated[str, msgspec.Meta(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
    app_version: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class RefreshRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=10, max_length=200)]
    device_id: Annotated[str, msgspec.Meta(min_length=8, max_length=100)] | None = None


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/login", operation_id="login", status_code=200, security=[], summary="Sign in from a device",
          responses=problem_responses(400, 401, 409, 413, 415, 422, 429))
    async def login(self, data: LoginRequest, db: AsyncSession, runtime: Runtime,
                    request: Request) -> TokenPair:
        return await service.login(
            db, runtime.settings, runtime.signer, username=data.username, password=data.password,
            device_id=data.device_id, address=client_address(request.scope), app_version=data.app_version,
        )

    @post("/auth/refresh", operation_id="refresh_token", status_code=200, security=[],
          summary="Rotate the refresh token (a reused token revokes the device session)",
          responses=problem_responses(400, 401, 413, 415, 422))
    async def refresh(self, data: RefreshRequest, db: AsyncSession, runtime: Runtime) -> TokenPair:
        return await service.refresh(
            db, runtime.settings, runtime.signer, refresh_token=data.refresh_token, device_id=data.device_id
        )

    @post("/auth/logout", operation_id="logout", status_code=204, summary="Sign out this device session",
          responses=problem_responses(401))
    async def logout(self, db: AsyncSession, principal: Principal) -> None:
        await service.logout(db, principal)

    @get("/me", operation_id="get_me", summary="Who I am, my roles and scopes, and my deployments",
          responses=problem_responses(401))
    async def me(self, db: AsyncSession, principal: Principal, runtime: Runtime) -> Profile:
        return await profile_of(db, principal, runtime.settings.entry_grace_days)
