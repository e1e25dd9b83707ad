"""One contract for every request body, walked over the published OpenAPI schema (issue 16).

For every operation with a JSON body: an unknown top-level field answers 422 `unknown_field` naming it,
unreadable JSON answers 400 saying where parsing stopped, another content type answers 415, and no body at
all is read as `{}` (never 415). For every operation without a body: no body and no content type is accepted
(never 415), `{}` too, and anything else is 400 `body_not_expected`. Each operation is called with the token of
someone its role guard lets through (the owner in tests/api/test_scope_matrix.py), so a refusal for a reason
other than the body cannot pass for one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest

from tests.api.test_auth import problem
from tests.api.test_scope_matrix import OPEN, ROUTES
from tests.factories import World
from tests.sync import Phone, phone

UNKNOWN = "zz_not_in_schema"
BROKEN = b'{"' + UNKNOWN.encode() + b'": "x",'  # truncated after 24 bytes
PUBLIC = {"health", "ready", "login", "refresh_token", "verify_document", "verify_document_page",
          "verify_document_file"}
# Operations that take raw bytes, not JSON: they read the body themselves (uploads, rosters, a file to verify).
RAW = {"upload_attachment_content", "admin_import", "verify_document_file"}
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_REASONS = {"malformed_json", "body_not_expected"}


def caller_of(operation: str) -> str | None:
    """Someone the operation's role guard lets through (None: nobody needs to sign in)."""
    if operation in PUBLIC:
        return None
    route = ROUTES.get(operation)
    if route is None:
        assert operation in OPEN, f"{operation}: in neither ROUTES nor OPEN of the scope matrix"
        return "expert_a"
    return route.owner


def url_of(path: str, params: list[dict[str, Any]]) -> str:
    kinds = {p["name"]: p.get("schema", {}) for p in params if p["in"] == "path"}

    def value(match: re.Match[str]) -> str:
        kind = kinds.get(match.group(1), {})
        if kind.get("format") == "uuid":
            return str(uuid.uuid4())
        if match.group(1) == "device_id":
            return "phone-0123456789"
        return "2026" if kind.get("type") == "integer" else "x"

    return re.sub(r"\{([^}]+)\}", value, path)


async def schema_of(client: Any) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def json_body(op: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema of the operation's request body, if it takes JSON."""
    return op.get("requestBody", {}).get("content", {}).get("application/json")


def resolve(schema: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in ref:
        ref = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    return ref


Headers = Callable[[], Awaitable[dict[str, str]]]


def _callers(client: Any, world: World) -> Callable[[str], Headers]:
    """Headers of someone who may call the operation; signing out gets a fresh session for every request."""
    phones: dict[str, Phone] = {}

    def headers_for(operation: str) -> Headers:
        async def headers() -> dict[str, str]:
            who = caller_of(operation)
            if who is None:
                return {}
            if operation == "logout":
                return (await phone(client, getattr(world, who).username)).headers
            if who not in phones:
                phones[who] = await phone(client, getattr(world, who).username)
            return phones[who].headers
        return headers

    return headers_for


async def walk(client: Any, world: World) -> list[tuple[str, str, str, dict[str, Any], Headers]]:
    """(operation, method, url, operation object, headers of a caller who may call it), for every operation."""
    schema = await schema_of(client)
    headers_for = _callers(client, world)
    found = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                found.append((op["operationId"], method.upper(), url_of(path, op.get("parameters", [])), op,
                              headers_for(op["operationId"])))
    return found


def let_through(r: Any) -> bool:
    """The caller got past authentication and the role guard (else the call proved nothing about the body)."""
    if r.status_code == 401:
        return False
    return not (r.status_code == 403 and r.json().get("reason") == "role_required")


async def test_every_operation_with_a_json_body_keeps_the_contract(client: Any, world: World) -> None:
    schema = await schema_of(client)
    wrong: list[str] = []
    checked = 0
    for operation, method, url, op, headers_of in await walk(client, world):
        body = json_body(op)
        if body is None:
            continue
        checked += 1
        where = f"{method} {url} ({operation})"
        headers = await headers_of()

        r = await client.request(method, url, headers=headers, json={UNKNOWN: True})
        errors = r.json().get("errors") if r.status_code == 422 else None
        if errors != [{"field": UNKNOWN, "code": "unknown_field", "message": f"Object contains unknown field "
                                                                               f"`{UNKNOWN}`"}]:
            wrong.append(f"{where}: an unknown field answered {r.status_code} {r.text[:200]}")

        r = await client.request(method, url, headers={**headers, "Content-Type": "application/json"}, content=BROKEN)
        if r.status_code != 400 or r.json().get("position") != len(BROKEN) or "truncated at byte" not in r.text:
            wrong.append(f"{where}: broken JSON answered {r.status_code} {r.text[:200]}")

        r = await client.request(method, url, headers={**headers, "Content-Type": "text/plain"}, content=b"{}")
        if r.status_code != 415:
            wrong.append(f"{where}: a text/plain body answered {r.status_code} {r.text[:200]}")

        # No body is read as `{}`: the required fields are named, or (all optional) the action goes ahead.
        r = await client.request(method, url, headers=headers)
        if not let_through(r):
            wrong.append(f"{where}: the caller was refused before the body was judged: {r.text[:200]}")
        required = set(resolve(schema, body["schema"]).get("required", []))
        if r.status_code == 415 or (r.status_code == 400 and r.json().get("reason") == "malformed_json"):
            wrong.append(f"{where}: no body answered {r.status_code} {r.text[:200]}")
        elif r.status_code == 422 and required:
            if not {e["field"] for e in r.json()["errors"]} <= required:
                wrong.append(f"{where}: no body, 422 without naming the required fields: {r.text[:200]}")
        elif required and operation != "sync_push":  # a push without Content-Length is 411: it is bounded first
            wrong.append(f"{where}: no body answered {r.status_code}, but {sorted(required)} are required")
    assert checked > 30
    assert wrong == [], "\n".join(wrong)


async def test_every_operation_without_a_body_accepts_none_and_refuses_one(client: Any, world: World) -> None:
    wrong: list[str] = []
    checked = 0
    for operation, method, url, op, headers_of in await walk(client, world):
        if json_body(op) is not None or operation in RAW or method == "OPTIONS":
            continue
        where = f"{method} {url} ({operation})"
        r = await client.request(method, url, headers=await headers_of())
        if not let_through(r):
            wrong.append(f"{where}: the caller was refused: {r.status_code} {r.text[:200]}")
        if r.status_code == 415 or (r.status_code == 400 and r.json().get("reason") in BODY_REASONS):
            wrong.append(f"{where}: no body and no content type answered {r.status_code} {r.text[:200]}")
        if method not in BODY_METHODS:
            continue
        checked += 1
        r = await client.request(method, url, headers=await headers_of(), json={})
        if not let_through(r) or r.status_code == 415 or (r.status_code == 400 and r.json().get("reason") in BODY_REASONS):
            wrong.append(f"{where}: `{{}}` answered {r.status_code} {r.text[:200]}")
        r = await client.request(method, url, headers=await headers_of(), json={"reason": "not read"})
        if r.status_code != 400 or r.json().get("reason") != "body_not_expected":
            wrong.append(f"{where}: a body it does not read answered {r.status_code} {r.text[:200]}")
    assert checked >= 8
    assert wrong == [], "\n".join(wrong)


async def test_raw_body_operations_are_the_known_ones(client: Any) -> None:
    """Only these read bytes themselves; any other operation without a JSON body refuses a body."""
    app = client.app
    raw = {h.operation_id for r in app.routes for h in getattr(r, "route_handlers", [])
           if "data" not in h.parsed_fn_signature.parameters and "request" in h.parsed_fn_signature.parameters
           and h.http_methods & BODY_METHODS}
    assert raw == RAW


def _structs(kind: Any, seen: set[type]) -> None:
    import typing

    for arg in typing.get_args(kind):
        _structs(arg, seen)
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct) and kind not in seen:
        seen.add(kind)
        for f in msgspec.structs.fields(kind):
            _structs(f.type, seen)


async def test_every_struct_a_body_can_hold_refuses_unknown_fields(client: Any) -> None:
    """Nested too: a misspelt key inside `location` or one mutation of a push is never dropped."""
    seen: set[type] = set()
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None:
                _structs(data.annotation, seen)
    assert len(seen) > 30
    tolerant = sorted(f"{s.__module__}.{s.__name__}" for s in seen if not s.__struct_config__.forbid_unknown_fields)
    assert tolerant == []


@pytest.mark.parametrize("operation", ["login", "refresh_token"])
async def test_public_bodies_refuse_unknown_fields_before_anything_else(client: Any, world: World,
                                                                        operation: str) -> None:
    url = {"login": "/api/v1/auth/login", "refresh_token": "/api/v1/auth/refresh"}[operation]
    body = {"username": world.expert_a.username, "password": "x", "device_id": "dev-00000001", "remember": True}
    if operation == "refresh_token":
        body = {"refresh_token": "r" * 20, "device_id": "dev-00000001", "remember": True}
    assert problem(await client.post(url, json=body), 422)["errors"][0]["field"] == "remember"
