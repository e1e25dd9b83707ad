"""Transport: advertised limits enforced with clear problems, gzip bodies with a bound, envelopes."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import date, timedelta
from typing import Any

from tests.sync import clinic, outcomes, phone


async def test_config_advertises_the_limits(client: Any, world: Any, db: Any) -> None:
    headers = await world.headers(client, "expert_a")
    config = (await client.get("/api/v1/sync/config", headers=headers)).json()
    assert config["max_batch"] == db.settings.sync_max_batch
    assert config["pull_page_max"] == 500
    assert config["max_body_bytes"] == db.settings.sync_max_body_bytes
    assert config["protocol"] == "fieldlog-sync/1"


async def test_a_batch_over_the_limit_is_refused_with_the_limit(client: Any, world: Any, db: Any) -> None:
    p = await phone(client, world.expert_a.username)
    n = db.settings.sync_max_batch + 1
    problem = await p.push([p.mutation("delete", uuid.uuid4()) for _ in range(n)], expect=413)
    assert problem["limit"] == db.settings.sync_max_batch
    assert problem["errors"][0]["field"] == "mutations"


async def test_numbers_must_increase_within_a_push(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    m1, m2 = p.mutation("delete", uuid.uuid4()), p.mutation("delete", uuid.uuid4())
    problem = await p.push([m2, m1], expect=422)
    assert problem["errors"][0]["code"] == "not_increasing"


async def test_a_gzip_push_is_accepted_and_the_reply_echoes_the_request_id(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    body = p.body([p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))])
    response = await client.post("/api/v1/sync/push", content=gzip.compress(json.dumps(body).encode()),
                                 headers={**p.headers, "Content-Type": "application/json",
                                          "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.json()["request_id"] == body["request_id"]
    assert outcomes(response.json()) == ["applied"]


async def test_a_zip_bomb_is_refused_before_it_expands(client: Any, world: Any, db: Any) -> None:
    p = await phone(client, world.expert_a.username)
    bomb = gzip.compress(b"{" + b" " * (db.settings.sync_max_expanded_bytes + 10))
    response = await client.post("/api/v1/sync/push", content=bomb,
                                 headers={**p.headers, "Content-Type": "application/json",
                                          "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.json()["limit"] == db.settings.sync_max_expanded_bytes


async def test_a_push_larger_than_the_app_limit_but_within_the_sync_limit_is_accepted(client: Any, world: Any,
                                                                                        db: Any) -> None:
    p = await phone(client, world.expert_a.username)
    note = "x" * 4000  # the longest note an entry may carry; unknown padding keys would be refused (422)
    count = db.settings.max_body_bytes // len(note) + 10
    days = [date.today() - timedelta(days=1 + i % 60) for i in range(count)]
    body = p.body([p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, day, note=note)) for day in days])
    assert len(json.dumps(body)) > db.settings.max_body_bytes
    reply = await p.push_body(body)
    assert outcomes(reply) == ["applied"] * count


async def test_a_plain_body_over_the_wire_limit_is_refused(client: Any, world: Any, db: Any) -> None:
    p = await phone(client, world.expert_a.username)
    body = p.body([]) | {"padding": "x" * (db.settings.sync_max_body_bytes + 10)}
    problem = await p.push_body(body, expect=413)
    assert problem["limit"] == db.settings.sync_max_body_bytes


async def test_pull_limit_and_auth_are_checked(client: Any, world: Any) -> None:
    headers = await world.headers(client, "expert_a")
    too_many = await client.get("/api/v1/sync/pull", params={"limit": 501}, headers=headers)
    assert too_many.status_code == 422  # a parameter out of its published bounds: 422 naming it
    assert [e["field"] for e in too_many.json()["errors"]] == ["limit"]
    assert (await client.get("/api/v1/sync/pull")).status_code == 401
    page = (await client.get("/api/v1/sync/pull", headers={**headers, "X-Request-Id": "abc-123"})).json()
    assert page["request_id"] == "abc-123"


async def test_a_push_without_a_valid_token_is_401_before_its_body_is_judged(client: Any) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        reply = await client.post("/api/v1/sync/push", json={"mutations": "nonsense"}, headers=headers)
        assert reply.status_code == 401, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert "errors" not in reply.json()
