"""The access-token check against PyJWT: every token PyJWT refuses (with the options fieldlog used) is refused,
with the same reason, and the tokens this signer issues pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest

from backend.errors import Unauthorized
from backend.security.tokens import CLOCK_LEEWAY_SECONDS, TokenSigner

SECRET = "s" * 64
KEYS = {"k1": SECRET, "k0": "o" * 64}
ISSUER, AUDIENCE = "fieldlog", "fieldlog-api"


def signer() -> TokenSigner:
    return TokenSigner(KEYS, "k1", issuer=ISSUER, audience=AUDIENCE, ttl=timedelta(minutes=15))


def pyjwt_reason(token: str) -> str | None:
    """What the previous check (PyJWT) answered: None for a valid token, else the 401 reason."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "HS256" or header.get("kid") not in KEYS:
            return "invalid_token"
        if jwt.decode(token, options={"verify_signature": False}).get("exp", 0) <= time.time():
            jwt.decode(token, KEYS[header["kid"]], algorithms=["HS256"])  # signature first, then expired
        got = jwt.decode(token, KEYS[header["kid"]], algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                         leeway=CLOCK_LEEWAY_SECONDS,  # ours holds for iat and nbf; exp is checked above
                         options={"require": ["exp", "iat", "sub", "aud", "iss", "sid", "dev"]})
        uuid.UUID(got["sub"]), uuid.UUID(got["sid"])
        return None
    except jwt.ExpiredSignatureError:
        return "token_expired"
    except (jwt.PyJWTError, TypeError, ValueError):
        return "invalid_token"


def our_reason(token: str) -> str | None:
    try:
        signer().verify(token)
        return None
    except Unauthorized as exc:
        return str(exc.extra["reason"])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "dev": "phone-1234",
                            "sid": str(uuid.uuid4()), "iat": now, "nbf": now - 5, "exp": now + 600, "jti": "ab12"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def signed(payload: dict[str, Any], *, key: str = SECRET, kid: Any = "k1", alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def hand_signed(header: dict[str, Any], payload: dict[str, Any], key: str = SECRET) -> str:
    """A token PyJWT would not write (odd headers), signed correctly with our key."""
    head, body = b64(json.dumps(header).encode()), b64(json.dumps(payload).encode())
    mac = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def cases() -> dict[str, str]:
    good = signed(claims())
    head, body, sig = good.split(".")
    other_body = b64(json.dumps(claims(sub=str(uuid.uuid4()))).encode())
    return {
        "valid": good,
        "valid, older key": signed(claims(), key=KEYS["k0"], kid="k0"),
        "audience list": signed(claims(aud=["other", AUDIENCE])),
        "tampered payload": f"{head}.{other_body}.{sig}",
        "tampered signature": f"{head}.{body}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BA'}",
        "signature of another key": signed(claims(), key="x" * 64),
        "unknown kid": signed(claims(), kid="zz"),
        "kid not a string": hand_signed({"alg": "HS256", "kid": ["k1"]}, claims()),
        "no kid": hand_signed({"alg": "HS256"}, claims()),
        "payload not an object": hand_signed({"alg": "HS256", "kid": "k1"}, [1, 2]),  # type: ignore[arg-type]
        "alg none": jwt.encode(claims(), None, algorithm="none", headers={"kid": "k1"}),  # type: ignore[arg-type]
        "alg HS512": signed(claims(), alg="HS512"),
        "expired": signed(claims(exp=int(time.time()) - 1, iat=int(time.time()) - 900)),
        "expires now": signed(claims(exp=int(time.time()))),
        "not yet valid (nbf)": signed(claims(nbf=int(time.time()) + 600)),
        "issued in the future": signed(claims(iat=int(time.time()) + 600)),
        "wrong audience": signed(claims(aud="someone-else")),
        "audience list without ours": signed(claims(aud=["a", "b"])),
        "wrong issuer": signed(claims(iss="evil")),
        "issuer not a string": hand_signed({"alg": "HS256", "kid": "k1"}, claims(iss=["fieldlog"])),
        **{f"without {c}": signed(claims(**{c: ...})) for c in ("exp", "iat", "sub", "aud", "iss", "sid", "dev")},
        "sub not a string": hand_signed({"alg": "HS256", "kid": "k1"}, claims(sub=12)),
        "jti not a string": hand_signed({"alg": "HS256", "kid": "k1"}, claims(jti=12)),
        "sid not a uuid": signed(claims(sid="nope")),
        "sub not a uuid": signed(claims(sub="nope")),
        "header not an object": f"{b64(b'[1]')}.{body}.{sig}",
        "header not json": f"{b64(b'{nope')}.{body}.{sig}",
        "two segments": f"{head}.{body}",
        "four segments": f"{good}.{sig}",
        "empty": "",
        "junk characters": f"{head}.{body}.!!!!{sig}",
        "not ascii": f"{head}.{body}.{sig}é",
    }


def test_a_token_from_a_node_whose_clock_is_a_little_ahead_is_accepted() -> None:
    now = int(time.time())
    assert our_reason(signed(claims(iat=now + 5, nbf=now + 5))) is None
    assert our_reason(signed(claims(iat=now + 120))) == "invalid_token"
    assert our_reason(signed(claims(nbf=now + 120))) == "invalid_token"
    assert our_reason(signed(claims(exp=now - 1, iat=now - 900))) == "token_expired"  # no leeway for expiry


@pytest.mark.parametrize("name", list(cases()))
def test_the_token_check_answers_as_pyjwt_did(name: str) -> None:
    token = cases()[name]
    assert our_reason(token) == pyjwt_reason(token), name


def test_what_pyjwt_tolerates_but_no_signer_of_ours_writes_is_refused() -> None:
    good = signed(claims())
    head, body, sig = good.split(".")
    padded = f"{head}.{body}.{sig}" + "=" * (-len(sig) % 4)
    assert our_reason(padded if padded != good else good + "==") == "invalid_token"
    assert our_reason(signed(claims(exp=float(time.time() + 600)))) == "invalid_token"  # not a whole second
    assert our_reason(signed(claims(), kid="k1") .replace(".", "..", 1)) == "invalid_token"


def test_issued_tokens_carry_their_claims() -> None:
    user, session = uuid.uuid4(), uuid.uuid4()
    verified = signer().verify(signer().issue(user, "phone-5678", session))
    assert (verified.user_id, verified.device_id, verified.session_id) == (user, "phone-5678", session)
    assert verified.expires_at.timestamp() == pytest.approx(time.time() + 900, abs=5)
