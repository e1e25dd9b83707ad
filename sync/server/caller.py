"""Who is pushing: like the app's principal, except that a disabled account's phone is still heard.

A disabled user's valid session must not lose the work queued on the phone, so push loads the caller itself:
the token is verified as everywhere (an expired one answers 401 token_expired), the session must be live, and
a disabled account is let through only to have its mutations quarantined.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import State
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.auth.service import load_principal
from backend.errors import Unauthorized
from backend.http.deps import bearer_token, runtime_of
from backend.models import RefreshToken, RoleGrant, User


class SyncCaller(msgspec.Struct, kw_only=True, frozen=True):
    principal: Principal
    disabled: bool


async def provide_sync_caller(request: Request[Any, Any, Any], db: AsyncSession, state: State) -> SyncCaller:
    claims = runtime_of(state).signer.verify(bearer_token(request))
    active = (await db.execute(select(User.is_active).where(User.id == claims.user_id))).scalar_one_or_none()
    if active is None:
        raise Unauthorized("The account is disabled", extra={"reason": "user_disabled"})
    if active:
        principal = await load_principal(db, claims)
    else:
        live = await db.scalar(select(exists().where(
            RefreshToken.family_id == claims.session_id, RefreshToken.device_id == claims.device_id,
            RefreshToken.revoked_at.is_(None))))
        if not live:
            raise Unauthorized("The session was signed out or revoked; sign in again",
                               extra={"reason": "session_revoked"})
        user = (await db.execute(select(User.username, User.name, User.home_institution_id)
                                 .where(User.id == claims.user_id))).one()
        roles = (await db.execute(select(RoleGrant.role).where(RoleGrant.user_id == claims.user_id))).scalars()
        principal = Principal(user_id=claims.user_id, username=user.username, name=user.name,
                              device_id=claims.device_id, session_id=claims.session_id, roles=frozenset(roles),
                              home_institution_id=user.home_institution_id)
    request.scope["state"]["user_id"] = str(principal.user_id)
    return SyncCaller(principal=principal, disabled=not active)
