"""The published schema is a contract phone teams generate clients from."""

from __future__ import annotations

from typing import Any

PUBLIC = {"health", "ready"}


async def test_every_route_documents_its_error_statuses(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    undocumented = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or op.get("operationId") in PUBLIC:
                continue
            errors = [s for s in op.get("responses", {}) if s.startswith(("4", "5"))]
            if not errors:
                undocumented.append(f"{method.upper()} {path}")
    assert undocumented == []


async def test_operation_ids_are_unique(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids))


async def test_problem_documents_are_described_as_problem_json(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    login = schema["paths"]["/api/v1/auth/login"]["post"]["responses"]["422"]
    assert "application/problem+json" in login["content"]


def test_the_committed_api_reference_is_generated_from_the_current_schema(tmp_path: Any) -> None:
    import json
    from pathlib import Path

    from backend.cli.main import main

    out, raw = tmp_path / "api.md", tmp_path / "openapi.json"
    assert main(["api-docs", "--out", str(out), "--json", str(raw)]) == 0
    schema = json.loads(raw.read_text(encoding="utf-8"))
    assert "/api/v1/sync/push" in schema["paths"]
    committed = Path(__file__).resolve().parents[2] / "docs" / "api.md"
    assert out.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), (
        "docs/api.md is stale: run `fieldlog api-docs`")


# Bodies that a caller without a token may send: signing in, rotating a refresh token, checking a document file.
PUBLIC_BODIES = {"login", "refresh_token", "verify_document_file"}


async def test_every_route_with_a_body_answers_401_before_judging_the_body(client: Any) -> None:
    import re
    import uuid

    schema = (await client.get("/schema/openapi.json")).json()
    judged_first = []
    checked = 0
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "requestBody" not in op or op.get("operationId") in PUBLIC_BODIES:
                continue
            params = {p["name"]: p.get("schema", {}) for p in op.get("parameters", []) if p.get("in") == "path"}

            def value(name: str, params: dict[str, Any] = params) -> str:
                kind = params.get(name, {})
                if kind.get("format") == "uuid":
                    return str(uuid.uuid4())
                return "2026" if kind.get("type") == "integer" else "csv"

            url = re.sub(r"\{([^}]+)\}", lambda m: value(m.group(1)), path)
            reply = await client.request(method.upper(), url, json={"not": ["what", "the", "schema", "says"]})
            checked += 1
            if reply.status_code != 401:
                judged_first.append(f"{method.upper()} {path}: {reply.status_code}")
    assert checked > 20
    assert judged_first == []
