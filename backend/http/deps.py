"""Request-scoped dependencies: the database session (committed on success) and the calling principal."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.auth.service import load_principal
from backend.errors import Forbidden, Unauthorized
from backend.runtime import Runtime
from backend.security.tokens import AccessClaims


def runtime_of(state: State) -> Runtime:
    return state["runtime"]


async def provide_runtime(state: State) -> Runtime:
    return runtime_of(state)


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One session per request; committed when the handler returns, rolled back when it raises."""
    async with runtime_of(state).sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


def bearer_token(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an access token as 'Authorization: Bearer <token>'", extra={"reason": "missing_token"},
                           headers={"WWW-Authenticate": 'Bearer realm="fieldlog"'})
    return token.strip()


def verify_token(request: Request[Any, Any, Any]) -> AccessClaims:
    """The claims of the request's bearer token, verified (401 for a missing, bad or expired one)."""
    return runtime_of(request.app.state).signer.verify(bearer_token(request))


async def provide_claims(request: Request[Any, Any, Any]) -> AccessClaims:
    """The verified token; every dependency that needs a signed-in caller builds on this one.

    The strict body check verifies it first on routes with a body (401 before any field error) and keeps it.
    """
    claims: AccessClaims | None = request.scope["state"].get("claims")
    return claims if claims is not None else verify_token(request)


async def provide_principal(request: Request[Any, Any, Any], db: NamedDependency[AsyncSession],
                            claims: NamedDependency[AccessClaims]) -> Principal:
    principal = await load_principal(db, claims)
    request.scope["state"]["user_id"] = str(principal.user_id)
    return principal




def requires_role(principal: Principal, *roles: str) -> Principal:
    """The role guard: 403 unless the caller holds one of `roles` (scope filters still apply in every query)."""
    if not principal.roles.intersection(roles):
        raise Forbidden(f"This needs the role {' or '.join(roles)}", extra={"reason": "role_required"})
    return principal
