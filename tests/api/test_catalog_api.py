"""The catalogue is served with a strong ETag; revalidating an unchanged one costs a 304 and no body."""

from __future__ import annotations

from typing import Any

from backend.worklog.catalog import CATALOG_VERSION, catalog_etag
from mobile_api.catalog import etag_matches
from tests.api.test_auth import problem
from tests.factories import World


async def test_catalog_lists_every_activity_type_with_its_fields(client: Any, world: World) -> None:
    r = await client.get("/api/v1/catalog", headers=await world.headers(client, "expert_a"))
    assert r.status_code == 200
    assert r.headers["etag"] == catalog_etag()
    assert "no-cache" in r.headers["cache-control"]
    body = r.json()
    assert body["version"] == CATALOG_VERSION
    keys = [t["key"] for t in body["activity_types"]]
    assert len(keys) == 12
    assert "mentoring" in keys
    surgery = next(t for t in body["activity_types"] if t["key"] == "surgery")
    grade = next(f for f in surgery["fields"] if f["name"] == "grade")
    assert [c["label_zh"] for c in grade["choices"]] == ["一级", "二级", "三级", "四级"]


async def test_unchanged_catalog_answers_304(client: Any, world: World) -> None:
    headers = await world.headers(client, "supervisor_b")
    first = await client.get("/api/v1/catalog", headers=headers)
    again = await client.get("/api/v1/catalog", headers={**headers, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    stale = await client.get("/api/v1/catalog", headers={**headers, "If-None-Match": '"c0-old"'})
    assert stale.status_code == 200


async def test_catalog_needs_a_signed_in_user(client: Any) -> None:
    problem(await client.get("/api/v1/catalog"), 401)


def test_if_none_match_accepts_lists_weak_tags_and_star() -> None:
    tag = '"c1-abc"'
    assert etag_matches(f'"x", W/{tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"c1-abd"', tag)
    assert not etag_matches(None, tag)
