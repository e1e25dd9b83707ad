"""Sign-in, token refresh with reuse detection, sign-out, and loading the caller on every request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, TooManyRequests, Unauthorized
from backend.metrics.series import LOGIN_THROTTLED
from backend.models import Device, LoginAttempt, RefreshToken, User
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


async def _throttle(session: AsyncSession, settings: Settings, username: str, address: str) -> None:
    """Refuse with 429 once an account or an address has too many recent failures."""
    since = datetime.now(UTC) - timedelta(seconds=settings.login_window_seconds)
    # An address gets more room than an account: a whole county hospital may share one NAT address.
    for column, value, limit in (
        (LoginAttempt.username, username, settings.login_max_failures),
        (LoginAttempt.address, address, settings.login_max_failures * 4),
    ):
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(LoginAttempt.at)).where(column == value, LoginAttempt.at > since)
            )
        ).one()
        if count >= limit:
            LOGIN_THROTTLED.labels("account" if column is LoginAttempt.username else "address").inc()
            retry = int((oldest - since).total_seconds()) + 1
            raise TooManyRequests(
                "Too many failed sign-ins; wait before trying again",
                headers={"Retry-After": str(max(retry, 1))},
                extra={"retry_after": max(retry, 1)},
            )


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
    """Check the password, register the device to the user and open a device session."""
    username = username.strip().lower()
    await _throttle(session, settings, username, address)
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password) or user is None or not user.is_active:
        await session.execute(insert(LoginAttempt).values(username=username, address=address))
        # The failure must be counted even though this request answers an error.
        await session.commit()
        raise Unauthorized("Wrong username or password, or the account is disabled", extra={"reason": "bad_credentials"})
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
    await session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
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
# authenticated request runs it.
_CALLER = text("""
SELECT u.is_active, u.username, u.name, u.home_institution_id,
       EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = :session AND t.device_id = :device
               AND t.revoked_at IS NULL) AS live,
       ARRAY(SELECT g.role FROM role_grants g WHERE g.user_id = u.id ORDER BY g.role, g.institution_id) AS roles,
       ARRAY(SELECT g.institution_id FROM role_grants g WHERE g.user_id = u.id ORDER BY g.role, g.institution_id)
           AS institutions
FROM users u WHERE u.id = :user
""")


async def load_caller(session: AsyncSession, claims: AccessClaims, *, allow_disabled: bool = False
                      ) -> tuple[Principal, bool]:
    """The caller and whether their account is active; a revoked session or a re-assigned device is refused.

    `allow_disabled`: sync push hears a disabled account's phone (to quarantine its work).
    """
    row = (await session.execute(_CALLER, {"user": claims.user_id, "session": claims.session_id,
                                           "device": claims.device_id})).one_or_none()
    if row is None or not (row.is_active or allow_disabled):
        raise Unauthorized("The account is disabled", extra={"reason": "user_disabled"})
    if not row.live:
        raise Unauthorized("The session was signed out or revoked; sign in again", extra={"reason": "session_revoked"})
    grants = list(zip(row.roles, row.institutions, strict=True))
    principal = Principal(
        user_id=claims.user_id,
        username=row.username,
        name=row.name,
        device_id=claims.device_id,
        session_id=claims.session_id,
        roles=frozenset(r for r, _ in grants),
        supervised=frozenset(i for r, i in grants if r == "supervisor"),
        hr_of=frozenset(i for r, i in grants if r == "hr"),
        home_institution_id=row.home_institution_id,
    )
    return principal, bool(row.is_active)


async def load_principal(session: AsyncSession, claims: AccessClaims) -> Principal:
    """Load the caller; a disabled user, a revoked session or a re-assigned device stops working at once."""
    principal, _ = await load_caller(session, claims)
    return principal
