"""The published schema says what the server enforces: parameter bounds, closed bodies, public operations, Allow."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.factories import World

PUBLIC = {"health", "ready", "login", "refresh_token", "verify_document", "verify_document_page",
          "verify_document_file"}
SAMPLE = {"year": "2026", "month": "2026-01", "fmt": "pdf", "period_start": "2026-01-01", "kind": "users",
          "code": "ABCD1234", "channel_kind": "wecom", "rule": "hr_digest", "device_id": "device-0001", "job_id": "1"}


async def _schema(client: Any) -> dict[str, Any]:
    return (await client.get("/schema/openapi.json")).json()


async def test_a_year_out_of_range_is_a_422_naming_it_not_a_server_error(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    for url in ("/api/v1/admin/agreements", f"/api/v1/stats/institutions/{world.hospital_a.id}",
                f"/api/v1/reports/agreements/{world.agreement_a.id}"):
        r = await client.get(url, params={"year": 0}, headers=h)
        assert r.status_code == 422, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == ["year"]
    assert (await client.get("/api/v1/admin/agreements", params={"year": 2026}, headers=h)).status_code == 200


async def test_a_caller_without_a_token_learns_nothing_from_a_bad_parameter(client: Any) -> None:
    r = await client.get("/api/v1/admin/agreements", params={"year": 0})
    assert r.status_code == 401


async def test_bounds_are_published_with_the_parameters(client: Any) -> None:
    schema = await _schema(client)
    year = next(p for p in schema["paths"]["/api/v1/admin/agreements"]["get"]["parameters"] if p["name"] == "year")
    assert (year["schema"]["minimum"], year["schema"]["maximum"]) == (2000, 2100)
    fmt = next(p for p in schema["paths"]["/api/v1/exports/{export_id}/files/{fmt}"]["get"]["parameters"]
               if p["name"] == "fmt")
    assert fmt["schema"]["enum"] == ["pdf", "xlsx", "csv"]
    for path, item in schema["paths"].items():
        for op in item.values():
            for param in op.get("parameters", []):  # a parameter is sent or not: never null
                assert "null" not in str(param["schema"].get("oneOf", "")) + str(param["schema"].get("type")), path
            if op.get("parameters"):
                assert "422" in op["responses"], path
            bad = op["responses"].get("400", {}).get("content", {})
            assert "application/json" not in bad, f"{path}: Litestar's own 400 shape, which is never sent"


async def test_every_closed_body_is_published_closed(client: Any) -> None:
    schema = await _schema(client)
    components = schema["components"]["schemas"]
    closed = 0
    for path, item in schema["paths"].items():
        for op in item.values():
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" in ref:
                assert components[ref["$ref"].rsplit("/", 1)[-1]].get("additionalProperties") is False, path
                closed += 1
    assert closed > 30
    # Closed because their Structs are (forbid_unknown_fields), not by a list: an answer's Struct stays open.
    from backend.worklog.schemas import EntryOut

    assert not EntryOut.__struct_config__.forbid_unknown_fields
    assert "additionalProperties" not in components["EntryOut"]
    entry = components["EntryCreate"]
    assert entry["properties"]["start_time"]["anyOf"][0]["pattern"].startswith("^([01][0-9]|2[0-3])")
    assert "clinic" in entry["properties"]["activity_type"]["enum"]


async def test_public_operations_declare_no_security_and_the_rest_the_bearer(client: Any) -> None:
    schema = await _schema(client)
    assert schema["security"] == [{"bearer": []}]
    seen = set()
    for item in schema["paths"].values():
        for op in item.values():
            if op["operationId"] in PUBLIC:
                assert op["security"] == [], op["operationId"]
                seen.add(op["operationId"])
            else:
                assert "security" not in op, op["operationId"]
    assert seen == PUBLIC


async def test_options_allows_every_method_of_the_path(client: Any) -> None:
    schema = await _schema(client)
    wrong = []
    for path, item in schema["paths"].items():
        url = re.sub(r"\{([^}]+)\}", lambda m: SAMPLE.get(m.group(1), str(uuid.uuid4())), path)
        r = await client.options(url)
        allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
        if not {m.upper() for m in item} <= allow:
            wrong.append(f"{path}: {sorted(allow)}")
    assert wrong == []

