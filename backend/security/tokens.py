"""JWT access tokens (HS256, key chosen by `kid` so keys can rotate) and opaque refresh tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
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
        self._key_bytes = {kid: secret.encode() for kid, secret in keys.items()}
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
        """Check signature, algorithm, issuer, audience and expiry; any failure is a plain 401.

        Every authenticated request runs this, so it is a direct check of the one shape this signer issues (HS256
        with a known `kid`, canonical base64url, the claims below) instead of PyJWT's general decoder, which cost
        about a tenth of a pull's CPU. It refuses everything PyJWT refuses with our options (and non-canonical
        encodings PyJWT tolerates); tests/unit/test_tokens.py holds the two side by side.
        """
        try:
            head_seg, body_seg, sig_seg = token.encode("ascii").split(b".")
            header = msgspec.json.decode(_segment(head_seg))
            if not isinstance(header, dict) or header.get("alg") != self.algorithm or "crit" in header:
                raise ValueError("algorithm")
            key = self._key_bytes.get(header.get("kid"))  # type: ignore[arg-type]
            expected = hmac.new(key or b"", head_seg + b"." + body_seg, hashlib.sha256).digest()
            if not key or not hmac.compare_digest(_segment(sig_seg), expected):
                raise ValueError("signature")
            claims = msgspec.json.decode(_segment(body_seg))
            if not isinstance(claims, dict) or any(claims.get(c) is None for c in _REQUIRED):
                raise ValueError("claims")
            now = time.time()
            # Another node's clock may run a little ahead of this one's (iat is floored to its second): a token
            # it has just issued must not be refused here. Expiry gets no leeway.
            early = now + CLOCK_LEEWAY_SECONDS
            if _instant(claims["iat"]) > early or ("nbf" in claims and _instant(claims["nbf"]) > early):
                raise ValueError("not yet valid")
            exp = _instant(claims["exp"])
            if exp <= now:  # in PyJWT's order: iat, nbf, exp, then issuer, audience, claim types
                raise Unauthorized("The access token has expired; refresh it", extra={"reason": "token_expired"})
            if claims["iss"] != self._issuer or not _audience_ok(claims["aud"], self._audience):
                raise ValueError("issuer or audience")
            sub, sid, dev = claims["sub"], claims["sid"], claims["dev"]
            if not (isinstance(sub, str) and isinstance(sid, str) and isinstance(dev, str)) or (
                    "jti" in claims and not isinstance(claims["jti"], str)):
                raise ValueError("claim types")
            return AccessClaims(user_id=uuid.UUID(sub), device_id=dev, session_id=uuid.UUID(sid),
                                expires_at=datetime.fromtimestamp(exp, UTC))
        except (ValueError, TypeError, KeyError, OverflowError, UnicodeError, binascii.Error, msgspec.DecodeError):
            raise Unauthorized("The access token is not valid", extra={"reason": "invalid_token"}) from None


_REQUIRED = ("exp", "iat", "sub", "aud", "iss", "sid", "dev")
CLOCK_LEEWAY_SECONDS = 30  # for iat and nbf only
_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")


def _segment(segment: bytes) -> bytes:
    """A base64url segment as issued (no padding, canonical); ValueError for anything else."""
    if len(segment) % 4 == 1 or not _BASE64URL.fullmatch(segment):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=") != segment:
        raise ValueError("not canonical base64url")
    return data


def _instant(value: object) -> int:
    """A NumericDate claim as this signer writes it: a whole number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a NumericDate")
    return value


def _audience_ok(claim: object, audience: str) -> bool:
    if isinstance(claim, str):
        return claim == audience
    return isinstance(claim, list) and all(isinstance(a, str) for a in claim) and audience in claim


def new_refresh_token() -> tuple[str, str]:
    """A random refresh token and the SHA-256 hex that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
