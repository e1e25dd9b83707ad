"""Bad input gets the right problem response and changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.models import Device, RefreshToken
from tests.api.test_auth import problem
from tests.factories import PASSWORD, World


async def _nothing_written(session: Any) -> None:
    assert (await session.execute(select(func.count()).select_from(RefreshToken))).scalar_one() == 0
    assert (await session.execute(select(func.count()).select_from(Device))).scalar_one() == 0


async def test_malformed_json_is_400(client: Any, world: World, session: Any) -> None:
    r = await client.post("/api/v1/auth/login", content=b'{"username": "a", ', headers={"content-type": "application/json"})
    problem(r, 400)
    await _nothing_written(session)


async def test_wrong_type_names_the_field(client: Any, world: World, session: Any) -> None:
    r = await client.post("/api/v1/auth/login", json={"username": 12, "password": PASSWORD, "device_id": "dev-00000001"})
    body = problem(r, 422)
    assert body["errors"][0]["field"] == "username"
    assert body["errors"][0]["code"] == "type"
    await _nothing_written(session)


async def test_missing_field_names_the_field(client: Any, world: World) -> None:
    body = problem(await client.post("/api/v1/auth/login", json={"username": "x", "password": "y"}), 422)
    assert body["errors"] == [{"field": "device_id", "code": "required",
                               "message": "Object missing required field `device_id`"}]


async def test_lenient_coercion_is_refused(client: Any, world: World) -> None:
    # Litestar alone would turn 12345678 into "12345678"; the published schema says string.
    r = await client.post("/api/v1/auth/login", json={"username": "x", "password": "y", "device_id": 12345678})
    assert problem(r, 422)["errors"][0]["field"] == "device_id"


async def test_wrong_content_type_is_415(client: Any, world: World, session: Any) -> None:
    r = await client.post("/api/v1/auth/login", content=b"username=x", headers={"content-type": "text/plain"})
    problem(r, 415)
    await _nothing_written(session)


async def test_oversized_body_is_413(client: Any, world: World, session: Any) -> None:
    big = {"username": "x", "password": "y" * (2 * 1024 * 1024), "device_id": "dev-00000001"}
    problem(await client.post("/api/v1/auth/login", json=big), 413)
    await _nothing_written(session)


async def test_unknown_route_and_method_are_problems(client: Any, world: World) -> None:
    problem(await client.get("/api/v1/nowhere"), 404)
    problem(await client.get("/api/v1/auth/login"), 405)


async def test_openapi_has_an_operation_id_on_every_route(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    missing = [(path, method) for path, item in schema["paths"].items() for method, op in item.items()
               if isinstance(op, dict) and "operationId" not in op]
    assert missing == []


async def test_health_and_ready(client: Any) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


async def test_missing_token_answers_401_before_body_validation(client: Any, world: World) -> None:
    r = await client.post("/api/v1/entries", json={"nonsense": True})
    assert problem(r, 401)["reason"] == "missing_token"
