"""Sign-in, token refresh with reuse detection, sign-out, and loading the caller on every request."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import throttle
from backend.auth.principal import Principal
from backend.errors import Conflict, Unauthorized
from backend.models import Device, RefreshToken, User
from backend.security.passwords import verify_password
from backend.security.tokens import AccessClaims, TokenSigner, hash_refresh_token, new_refresh_token
from backend.settings import Settings


class TokenPair(msgspec.Struct, kw_only=True):
    """What a successful sign-in or refresh answers."""

    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_expires_in: int
    user_id: uuid.UUID
    device_id: str


async def _issue(
    session: AsyncSession, settings: Settings, signer: TokenSigner, user_id: uuid.UUID, device_id: str, family: uuid.UUID
) -> TokenPair:
    token, digest = new_refresh_token()
    refresh_ttl = timedelta(days=settings.refresh_token_days)
    await session.execute(
        insert(RefreshToken).values(
            id=uuid.uuid4(),
            family_id=family,
            user_id=user_id,
            device_id=device_id,
            token_hash=digest,
            expires_at=datetime.now(UTC) + refresh_ttl,
        )
    )
    return TokenPair(
        access_token=signer.issue(user_id, device_id, family),
        refresh_token=token,
        expires_in=int(signer.ttl.total_seconds()),
        refresh_expires_in=int(refresh_ttl.total_seconds()),
        user_id=user_id,
        device_id=device_id,
    )


async def login(
    session: AsyncSession,
    settings: Settings,
    signer: TokenSigner,
    *,
    username: str,
    password: str,
    device_id: str,
    address: str,
    app_version: str | None = None,
) -> TokenPair:
    """Check the password (throttled: backend/auth/throttle.py), register the device, open a device session."""
    username = username.strip().lower()
    attempt = await throttle.admit(session, settings, username=username, address=address, device_id=device_id)
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password) or user is None or not user.is_active:
        # The failure must be counted even though this request answers an error.
        await throttle.failed(session, attempt, settings)
        raise Unauthorized("Wrong username or password, or the account is disabled", extra={"reason": "bad_credentials"})
    # The right password clears this pair's failures even when the device turns out to be someone else's.
    await throttle.succeeded(session, attempt)
    await session.commit()
    device = await session.get(Device, device_id, with_for_update=True)
    if device is None:
        session.add(Device(id=device_id, user_id=user.id, app_version=app_version))
        await session.flush()
    elif device.user_id != user.id:
        raise Conflict(
            "This device is registered to another user; an administrator must release it first",
            extra={"reason": "device_in_use"},
        )
    else:
        device.app_version = app_version or device.app_version
    return await _issue(session, settings, signer, user.id, device_id, uuid.uuid4())


async def refresh(
    session: AsyncSession, settings: Settings, signer: TokenSigner, *, refresh_token: str, device_id: str | None
) -> TokenPair:
    """Rotate a refresh token; a token presented twice revokes its whole device session."""
    now = datetime.now(UTC)
    row = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(refresh_token)).with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("The refresh token is not valid; sign in again", extra={"reason": "invalid_refresh"})
    if row.rotated_at is not None or (device_id is not None and device_id != row.device_id):
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason="reuse_detected")
        )
        await session.commit()
        raise Unauthorized(
            "This refresh token was already used; the session is revoked, sign in again",
            extra={"reason": "refresh_reused"},
        )
    if row.expires_at <= now:
        raise Unauthorized("The refresh token has expired; sign in again", extra={"reason": "refresh_expired"})
    active = (await session.execute(select(User.is_active).where(User.id == row.user_id))).scalar_one()
    if not active:
        raise Unauthorized("The account is disabled", extra={"reason": "user_disabled"})
    row.rotated_at = now
    return await _issue(session, settings, signer, row.user_id, row.device_id, row.family_id)


async def logout(session: AsyncSession, principal: Principal) -> None:
    """Revoke the caller's device session (every refresh token of it)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == principal.session_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC), revoked_reason="logout")
    )


# The user, whether the token's session is still live, and the role grants, in one round trip: every
# authenticated request runs it. CALLER_SQL is the asyncpg form ($1 user, $2 session, $3 device) for the sync
# pull, which runs it on the raw connection fused with its own first statement.
_CALLER_SELECT = """
SELECT u.is_active, u.username, u.name, u.home_institution_id,
       EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = {session} AND t.device_id = {device}
               AND t.revoked_at IS NULL) AS live,
       ARRAY(SELECT g.role FROM role_grants g WHERE g.user_id = u.id ORDER BY g.role, g.institution_id) AS roles,
       ARRAY(SELECT g.institution_id FROM role_grants g WHERE g.user_id = u.id ORDER BY g.role, g.institution_id)
           AS institutions
FROM users u WHERE u.id = {user}
"""
_CALLER = text(_CALLER_SELECT.format(user=":user", session=":session", device=":device"))
CALLER_SQL = _CALLER_SELECT.format(user="$1::uuid", session="$2::uuid", device="$3::text")


def caller_from_row(row: Mapping[str, Any] | None, claims: AccessClaims, *, allow_disabled: bool = False
                    ) -> tuple[Principal, bool]:
    """The caller from a row of the caller query (None or a null username: no such user); 401 when refused."""
    if row is None or row["username"] is None or not (row["is_active"] or allow_disabled):
        raise Unauthorized("The account is disabled", extra={"reason": "user_disabled"})
    if not row["live"]:
        raise Unauthorized("The session was signed out or revoked; sign in again", extra={"reason": "session_revoked"})
    grants = list(zip(row["roles"], row["institutions"], strict=True))
    principal = Principal(
        user_id=claims.user_id,
        username=row["username"],
        name=row["name"],
        device_id=claims.device_id,
        session_id=claims.session_id,
        roles=frozenset(r for r, _ in grants),
        supervised=frozenset(i for r, i in grants if r == "supervisor"),
        hr_of=frozenset(i for r, i in grants if r == "hr"),
        home_institution_id=row["home_institution_id"],
    )
    return principal, bool(row["is_active"])


async def load_caller(session: AsyncSession, claims: AccessClaims, *, allow_disabled: bool = False
                      ) -> tuple[Principal, bool]:
    """The caller and whether their account is active; a revoked session or a re-assigned device is refused.

    `allow_disabled`: sync push hears a disabled account's phone (to quarantine its work).
    """
    row = (await session.execute(_CALLER, {"user": claims.user_id, "session": claims.session_id,
                                           "device": claims.device_id})).one_or_none()
    return caller_from_row(row._mapping if row is not None else None, claims, allow_disabled=allow_disabled)


async def load_principal(session: AsyncSession, claims: AccessClaims) -> Principal:
    """Load the caller; a disabled user, a revoked session or a re-assigned device stops working at once."""
    principal, _ = await load_caller(session, claims)
    return principal
