"""Sign-in, refresh with reuse detection, sign-out, profile, and every way a token can be bad."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
from sqlalchemy import select, update

from backend.models import LoginAttempt, RefreshToken, User
from tests.conftest import JWT_SECRET
from tests.factories import PASSWORD, World, login


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:fieldlog:problem:")
    assert body["request_id"]
    assert "Traceback" not in response.text
    return body


async def test_expert_signs_in_and_reads_profile_with_deployments(client: Any, world: World) -> None:
    tokens = await login(client, world.expert_a.username)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60
    me = await client.get("/api/v1/me", headers=tokens["headers"])
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == world.expert_a.username
    assert [r["role"] for r in body["roles"]] == ["expert"]
    assert [d["id"] for d in body["deployments"]] == [str(world.deployment_a.id)]
    assert body["deployments"][0]["recipient_name"] == world.hospital_a.name
    assert body["deployments"][0]["editable_until"] is not None


async def test_supervisor_profile_lists_scoped_roles(client: Any, world: World) -> None:
    body = (await client.get("/api/v1/me", headers=await world.headers(client, "supervisor_a"))).json()
    assert body["roles"] == [
        {"role": "supervisor", "label_zh": "受援医院审核人", "institution_id": str(world.hospital_a.id),
         "institution_name": world.hospital_a.name}
    ]
    assert body["deployments"] == []


async def test_wrong_password_is_401_and_counted(client: Any, world: World, session: Any) -> None:
    r = await client.post("/api/v1/auth/login",
                          json={"username": world.expert_a.username, "password": "nope", "device_id": "dev-00000001"})
    assert problem(r, 401)["reason"] == "bad_credentials"
    count = len((await session.execute(select(LoginAttempt))).all())
    assert count == 1


async def test_brute_force_login_is_throttled_with_retry_after(client: Any, world: World) -> None:
    body = {"username": world.expert_a.username, "password": "wrong-password", "device_id": "dev-00000001"}
    for _ in range(5):
        assert (await client.post("/api/v1/auth/login", json=body)).status_code == 401
    r = await client.post("/api/v1/auth/login", json={**body, "password": PASSWORD})
    problem(r, 429)
    assert int(r.headers["retry-after"]) > 0


async def test_refresh_rotates_and_reuse_revokes_the_session(client: Any, world: World) -> None:
    first = await login(client, world.expert_a.username, device_id="phone-rotate-1")
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    new_headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await client.get("/api/v1/me", headers=new_headers)).status_code == 200
    # The first token again: someone copied it. The whole device session dies.
    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert problem(reused, 401)["reason"] == "refresh_reused"
    assert problem(await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}),
                   401)["reason"] == "invalid_refresh"
    assert problem(await client.get("/api/v1/me", headers=new_headers), 401)["reason"] == "session_revoked"


async def test_refresh_token_is_stored_only_as_a_hash(client: Any, world: World, session: Any) -> None:
    tokens = await login(client, world.expert_a.username)
    stored = (await session.execute(select(RefreshToken.token_hash))).scalars().all()
    assert tokens["refresh_token"] not in stored
    assert len(stored) == 1
    assert len(stored[0]) == 64


async def test_logout_ends_the_session(client: Any, world: World) -> None:
    tokens = await login(client, world.expert_a.username)
    assert (await client.post("/api/v1/auth/logout", headers=tokens["headers"])).status_code == 204
    problem(await client.get("/api/v1/me", headers=tokens["headers"]), 401)
    problem(await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)


async def test_disabled_user_tokens_stop_at_once(client: Any, world: World, session: Any) -> None:
    tokens = await login(client, world.expert_a.username)
    await session.execute(update(User).where(User.id == world.expert_a.id).values(is_active=False))
    await session.commit()
    assert problem(await client.get("/api/v1/me", headers=tokens["headers"]), 401)["reason"] == "user_disabled"
    problem(await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401)
    r = await client.post("/api/v1/auth/login", json={"username": world.expert_a.username, "password": PASSWORD,
                                                      "device_id": "dev-00000009"})
    problem(r, 401)


async def test_device_registered_to_another_user_is_refused(client: Any, world: World) -> None:
    await login(client, world.expert_a.username, device_id="shared-phone-1")
    r = await client.post("/api/v1/auth/login", json={"username": world.expert_b.username, "password": PASSWORD,
                                                      "device_id": "shared-phone-1"})
    assert problem(r, 409)["reason"] == "device_in_use"


def _claims(world: World, tokens: dict[str, Any]) -> dict[str, Any]:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})


async def _assert_rejected(client: Any, token: str) -> None:
    body = problem(await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401)
    assert body["reason"] in ("invalid_token", "token_expired")


async def test_tampered_token_is_refused(client: Any, world: World) -> None:
    tokens = await login(client, world.expert_a.username)
    header, payload, sig = tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = str(world.expert_b.id)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    await _assert_rejected(client, f"{header}.{forged}.{sig}")


async def test_expired_token_is_refused_with_reason(client: Any, world: World) -> None:
    tokens = await login(client, world.expert_a.username)
    claims = _claims(world, tokens) | {"exp": int(time.time()) - 60, "iat": int(time.time()) - 1000,
                                       "nbf": int(time.time()) - 1000}
    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256", headers={"kid": "t1"})
    body = problem(await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401)
    assert body["reason"] == "token_expired"


async def test_alg_none_token_is_refused(client: Any, world: World) -> None:
    claims = _claims(world, await login(client, world.expert_a.username))
    token = jwt.encode(claims, None, algorithm="none", headers={"kid": "t1"})  # type: ignore[arg-type]
    await _assert_rejected(client, token)


async def test_wrong_audience_is_refused(client: Any, world: World) -> None:
    claims = _claims(world, await login(client, world.expert_a.username)) | {"aud": "another-service"}
    await _assert_rejected(client, jwt.encode(claims, JWT_SECRET, algorithm="HS256", headers={"kid": "t1"}))


async def test_wrong_key_and_unknown_kid_are_refused(client: Any, world: World) -> None:
    claims = _claims(world, await login(client, world.expert_a.username))
    await _assert_rejected(client, jwt.encode(claims, "x" * 48, algorithm="HS256", headers={"kid": "t1"}))
    await _assert_rejected(client, jwt.encode(claims, JWT_SECRET, algorithm="HS256", headers={"kid": "zz"}))
    await _assert_rejected(client, "not-a-jwt")
