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
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Unauthorized
from backend.http.deps import bearer_token, runtime_of


class SyncCaller(msgspec.Struct, kw_only=True, frozen=True):
    principal: Principal
    disabled: bool


# The same checks as backend.auth.service.load_principal (user, live session, role grants), in one round trip:
# a push is a hot path and each statement costs as much as a small batch of rows.
_CALLER = text("""
SELECT u.is_active, u.username, u.name, u.home_institution_id,
       EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = :session AND t.device_id = :device
               AND t.revoked_at IS NULL) AS live,
       ARRAY(SELECT g.role FROM role_grants g WHERE g.user_id = u.id ORDER BY g.role, g.institution_id) AS roles,
       ARRAY(SELECT g.institution_id FROM role_grants g WHERE g.user_id = u.id ORDER BY g.role, g.institution_id)
           AS institutions
FROM users u WHERE u.id = :user
""")


async def provide_sync_caller(request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], state: State) -> SyncCaller:
    claims = runtime_of(state).signer.verify(bearer_token(request))
    row = (await db.execute(_CALLER, {"user": claims.user_id, "session": claims.session_id,
                                      "device": claims.device_id})).one_or_none()
    if row is None:
        raise Unauthorized("The account is disabled", extra={"reason": "user_disabled"})
    if not row.live:
        raise Unauthorized("The session was signed out or revoked; sign in again", extra={"reason": "session_revoked"})
    grants = list(zip(row.roles, row.institutions, strict=True))
    principal = Principal(user_id=claims.user_id, username=row.username, name=row.name, device_id=claims.device_id,
                          session_id=claims.session_id, roles=frozenset(r for r, _ in grants),
                          supervised=frozenset(i for r, i in grants if r == "supervisor"),
                          hr_of=frozenset(i for r, i in grants if r == "hr"),
                          home_institution_id=row.home_institution_id)
    request.scope["state"]["user_id"] = str(principal.user_id)
    return SyncCaller(principal=principal, disabled=not row.is_active)
