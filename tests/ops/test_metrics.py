"""`/metrics` after real traffic: the named series exist and moved by what the traffic did; it is protected."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from backend.app import create_app
from backend.runtime import Runtime
from backend.settings import Settings, load_settings
from tests.conftest import JWT_SECRET
from tests.factories import PASSWORD
from tests.sync import clinic, phone

TOKEN = "metrics-token-0123456789abcdef"
Sample = tuple[str, frozenset[tuple[str, str]]]


def samples(text: str) -> dict[Sample, float]:
    """(name, labels) -> value, parsed as Prometheus parses the text format."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[Sample, float], name: str, **labels: str) -> float:
    """The sum of `name` over the samples that carry these labels (0 when none)."""
    want = set(labels.items())
    return sum(v for (n, have), v in found.items() if n == name and want <= have)


@pytest.fixture(scope="module")
def metrics_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("metrics")
    return load_settings({"FIELDLOG_DATA_DIR": str(data), "FIELDLOG_JWT_KEYS": f"t1:{JWT_SECRET}",
                          "FIELDLOG_STORAGE_DIR": str(data / "files"), "FIELDLOG_METRICS_TOKEN": TOKEN,
                          "FIELDLOG_LOGIN_MAX_FAILURES": "2", "FIELDLOG_MAX_INFLIGHT": "10000",
                          "FIELDLOG_WORKER_IN_PROCESS": "false"})


@pytest.fixture(scope="module")
async def metered(metrics_settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(metrics_settings, database_url), base_url="http://node") as c:
        yield c


async def scrape(client: Any) -> dict[str, float]:
    reply = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(reply.text)


async def test_traffic_moves_the_named_series(db: Runtime, metered: Any, world: Any) -> None:
    before = await scrape(metered)
    expert = await phone(metered, world.expert_a.username)
    entry_id = uuid.uuid4()
    reply = await expert.push([expert.mutation("create", entry_id, clinic(world.deployment_a.id)),
                               expert.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id, fields={}))])
    assert [r["outcome"] for r in reply["results"]] == ["applied", "rejected"]
    # The same record with the same content under a new number: a duplicate, not a second entry.
    resent = await expert.push([expert.mutation("create", entry_id, clinic(world.deployment_a.id))])
    assert [r["outcome"] for r in resent["results"]] == ["duplicate"]
    changes, cursor = await expert.pull_all()
    assert any(c["id"] == str(entry_id) for c in changes)
    await expert.pull(cursor)  # incremental, empty
    assert (await metered.get(f"/api/v1/entries/{uuid.uuid4()}", headers=expert.headers)).status_code == 404
    for _ in range(3):  # two failures allowed, the third sign-in is throttled
        await metered.post("/api/v1/auth/login", json={"username": world.expert_b.username, "password": "wrong",
                                                       "device_id": "device-throttle-1"})
    throttled = await metered.post("/api/v1/auth/login", json={"username": world.expert_b.username,
                                                               "password": PASSWORD, "device_id": "device-throttle-1"})
    assert throttled.status_code == 429
    after = await scrape(metered)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("fieldlog_http_requests_total", route="/api/v1/auth/login", status="200") == 1
    assert moved("fieldlog_http_requests_total", route="/api/v1/auth/login", status="429") >= 1
    assert moved("fieldlog_http_requests_total", route="/api/v1/sync/push", status="200") == 2
    assert moved("fieldlog_http_requests_total", route="/api/v1/sync/pull", status="200") >= 2
    # By route template, never by raw path: the random id does not become a series of its own.
    assert moved("fieldlog_http_requests_total", route="/api/v1/entries/{entry_id}", status="404") == 1
    assert not any(str(entry_id) in str(key) for key in after)
    assert moved("fieldlog_http_request_duration_seconds_count", route="/api/v1/sync/push") == 2
    assert moved("fieldlog_sync_push_mutations_total", outcome="applied") == 1
    assert moved("fieldlog_sync_push_mutations_total", outcome="rejected") == 1
    assert moved("fieldlog_sync_push_mutations_total", outcome="duplicate") == 1
    assert moved("fieldlog_sync_push_batch_size_count") == 2
    assert moved("fieldlog_sync_pull_changes_count", phase="first_sync") >= 1
    assert moved("fieldlog_sync_pull_changes_sum", phase="first_sync") >= 2  # the entry and the deployment
    assert moved("fieldlog_sync_pull_changes_count", phase="incremental") == 1
    assert moved("fieldlog_login_throttled_total", key="pair") >= 1  # one account x one address
    assert value(after, "fieldlog_db_pool_in_use") >= 0
    assert any(name == "fieldlog_db_pool_waiting" for name, _ in after)
    assert value(after, "fieldlog_scrape_database_up") == 1
    assert value(after, "fieldlog_exports", status="queued") == 0


async def test_a_pull_reset_is_counted_by_reason(db: Runtime, metered: Any, world: Any) -> None:
    before = await scrape(metered)
    expert = await phone(metered, world.expert_a.username)
    page = await expert.pull("not-a-cursor")
    assert page["reset"] is True
    after = await scrape(metered)
    assert value(after, "fieldlog_sync_pull_resets_total", reason="cursor_invalid") - value(
        before, "fieldlog_sync_pull_resets_total", reason="cursor_invalid") == 1


async def test_metrics_need_the_token(db: Runtime, metered: Any) -> None:
    assert (await metered.get("/metrics")).status_code == 401
    wrong = await metered.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert "fieldlog_http_requests_total" not in wrong.text


async def test_metrics_are_off_without_a_token(client: Any) -> None:
    # The suite's app has no FIELDLOG_METRICS_TOKEN: the route answers like an unknown path.
    reply = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 404
    assert "fieldlog_" not in reply.text


async def test_metrics_are_not_in_the_published_schema(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/metrics" not in schema["paths"]
