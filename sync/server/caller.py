"""Who is pushing: like the app's principal, except that a disabled account's phone is still heard.

A disabled user's valid session must not lose the work queued on the phone, so push loads the caller itself:
the token is verified as everywhere (an expired one answers 401 token_expired), the session must be live, and
a disabled account is let through only to have its mutations quarantined.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.auth.service import load_caller
from backend.security.tokens import AccessClaims


class SyncCaller(msgspec.Struct, kw_only=True, frozen=True):
    principal: Principal
    disabled: bool


async def provide_sync_caller(request: Request[Any, Any, Any], db: NamedDependency[AsyncSession],
                              claims: NamedDependency[AccessClaims]) -> SyncCaller:
    principal, active = await load_caller(db, claims, allow_disabled=True)
    request.scope["state"]["user_id"] = str(principal.user_id)
    return SyncCaller(principal=principal, disabled=not active)
