"""JWT access tokens (HS256, key chosen by `kid` so keys can rotate) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import msgspec

from backend.errors import Unauthorized


class AccessClaims(msgspec.Struct, kw_only=True, frozen=True):
    """What an access token asserts: who, from which device and session."""

    user_id: uuid.UUID
    device_id: str
    session_id: uuid.UUID
    expires_at: datetime


class TokenSigner:
    """Signs with the active key and verifies with any configured key, by `kid`."""

    algorithm = "HS256"

    def __init__(self, keys: dict[str, str], active_kid: str, *, issuer: str, audience: str, ttl: timedelta) -> None:
        if active_kid not in keys:
            raise ValueError(f"active key id {active_kid!r} is not among the configured keys")
        self._keys = dict(keys)
        self._active = active_kid
        self._issuer = issuer
        self._audience = audience
        self.ttl = ttl

    def issue(self, user_id: uuid.UUID, device_id: str, session_id: uuid.UUID, *, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "dev": device_id,
            "sid": str(session_id),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()) - 5,
            "exp": int((now + self.ttl).timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._keys[self._active], algorithm=self.algorithm, headers={"kid": self._active})

    def verify(self, token: str) -> AccessClaims:
        """Check signature, algorithm, issuer, audience and expiry; any failure is a plain 401."""
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if header.get("alg") != self.algorithm or kid not in self._keys:
                raise Unauthorized("The access token is not valid", extra={"reason": "invalid_token"})
            claims = jwt.decode(
                token,
                self._keys[kid],
                algorithms=[self.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "sid", "dev"]},
            )
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                device_id=str(claims["dev"]),
                session_id=uuid.UUID(claims["sid"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The access token has expired; refresh it", extra={"reason": "token_expired"}) from None
        except (jwt.PyJWTError, ValueError, KeyError, TypeError):
            raise Unauthorized("The access token is not valid", extra={"reason": "invalid_token"}) from None


def new_refresh_token() -> tuple[str, str]:
    """A random refresh token and the SHA-256 hex that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
