"""Faults: PostgreSQL restarted under load, the pool exhausted, the disk full. Clients get a problem with
Retry-After (never a 500), /ready says what is wrong, and the node recovers without a restart of its own."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pgserver
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from backend.app import create_app
from backend.db.migrate import upgrade
from backend.runtime import Runtime
from backend.settings import Settings, load_settings
from tests.conftest import JWT_SECRET
from tests.factories import login, make_user

FILE = b"\xff\xd8\xff\xe0 fieldlog fault test " * 100


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on this test's own event loop (the test holds its database connections), after its startup."""
    async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                 base_url="http://node") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def node_settings(tmp: Path, **env: str) -> Settings:
    return load_settings({"FIELDLOG_DATA_DIR": str(tmp), "FIELDLOG_JWT_KEYS": f"t1:{JWT_SECRET}",
                          "FIELDLOG_STORAGE_DIR": str(tmp / "files"), "FIELDLOG_WORKER_IN_PROCESS": "false", **env})


def assert_retry_later(reply: Any, status: int = 503) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert int(reply.headers["retry-after"]) > 0
    body: dict[str, Any] = reply.json()
    assert "Traceback" not in reply.text
    assert body["request_id"]
    return body


async def test_pool_exhausted_waits_the_bounded_time_then_503(db: Runtime, world: Any, database_url: str,
                                                               tmp_path: Path) -> None:
    settings = node_settings(tmp_path, FIELDLOG_DB_POOL_SIZE="1", FIELDLOG_DB_POOL_TIMEOUT="1")
    async with serving(create_app(settings, database_url)) as node:
        headers = (await login(node, world.expert_a.username))["headers"]
        engine = node.app.state["runtime"].engine
        held = [await engine.connect() for _ in range(2)]  # the pool (1) and its overflow (1)
        try:
            timeouts = REGISTRY.get_sample_value("fieldlog_db_pool_timeouts_total") or 0
            started = time.perf_counter()
            waiting = asyncio.ensure_future(node.get("/api/v1/sync/config", headers=headers))
            await asyncio.sleep(0.4)
            assert REGISTRY.get_sample_value("fieldlog_db_pool_waiting") >= 1  # seen while it waits
            body = assert_retry_later(await waiting)
            waited = time.perf_counter() - started
            assert REGISTRY.get_sample_value("fieldlog_db_pool_timeouts_total") == timeouts + 1
            assert body["reason"] == "pool_exhausted"
            assert 0.9 <= waited < 5
            ready = await node.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["database"] == "pool_exhausted"
            assert ready.json()["pool_in_use"] == 2
        finally:
            for conn in held:
                await conn.close()
        assert (await node.get("/api/v1/sync/config", headers=headers)).status_code == 200
        assert (await node.get("/ready")).status_code == 200


@pytest.fixture
async def own_pg() -> AsyncIterator[tuple[Any, str]]:
    """A PostgreSQL of this test's own, which the test stops and starts."""
    base = Path(f"/tmp/fl-fault-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    server = pgserver.get_server(str(base), cleanup_mode="delete")
    url = str(server.get_uri())
    await asyncio.to_thread(upgrade, url)
    try:
        yield server, url
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


async def test_database_restart_under_load_answers_503_and_the_node_recovers(own_pg: tuple[Any, str],
                                                                               tmp_path: Path) -> None:
    server, url = own_pg
    node_app = create_app(node_settings(tmp_path), url)
    async with serving(node_app) as node:
        runtime: Runtime = node.app.state["runtime"]
        async with runtime.sessionmaker() as s, s.begin():
            expert = await make_user(s, name="专家")
        headers = (await login(node, expert.username))["headers"]

        async def burst() -> list[Any]:
            return list(await asyncio.gather(*(node.get("/api/v1/sync/config", headers=headers) for _ in range(8))))

        assert {r.status_code for r in await burst()} == {200}
        await asyncio.to_thread(pgserver.pg_ctl, ["-w", "stop", "-m", "fast"], pgdata=server.pgdata,
                                user=server.system_user)
        down = await burst()
        assert {r.status_code for r in down} == {503}
        for reply in down:
            assert assert_retry_later(reply)["reason"] in ("connection_lost", "unreachable")
        ready = await node.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["database"] in ("connection_lost", "unreachable")
        assert ready.json()["detail"]
        await asyncio.to_thread(server.ensure_postgres_running)
        # The same node, not restarted: the next requests find the database again.
        for _ in range(20):
            replies = await burst()
            if {r.status_code for r in replies} == {200}:
                break
            assert {r.status_code for r in replies} <= {200, 503}
            await asyncio.sleep(0.25)
        assert {r.status_code for r in replies} == {200}
        assert (await node.get("/ready")).status_code == 200


async def test_pooled_connections_whose_backends_were_terminated_never_answer_500(own_pg: tuple[Any, str],
                                                                                  tmp_path: Path) -> None:
    """A warm pool whose server sides are gone (pg_terminate_backend, as a restart or failover does to them): no
    request answers 500; a pull finds a fresh connection by itself, other requests answer 503 at worst."""
    import asyncpg

    from backend.db.engine import plain_url

    _, url = own_pg
    async with serving(create_app(node_settings(tmp_path), url)) as node:
        runtime: Runtime = node.app.state["runtime"]
        async with runtime.sessionmaker() as s, s.begin():
            expert = await make_user(s, name="专家")
        headers = (await login(node, expert.username))["headers"]

        async def burst(path: str) -> list[Any]:
            return list(await asyncio.gather(*(node.get(path, headers=headers) for _ in range(8))))

        for path in ("/api/v1/sync/pull", "/api/v1/sync/config"):  # warm: several pooled connections
            assert {r.status_code for r in await burst(path)} == {200}
        for _ in range(3):
            killer = await asyncpg.connect(plain_url(url))
            try:
                await killer.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE application_name = 'fieldlog' AND pid <> pg_backend_pid()")
            finally:
                await killer.close()
            pulls = await burst("/api/v1/sync/pull")
            assert [r.status_code for r in pulls] == [200] * 8, [r.text for r in pulls if r.status_code != 200]
            others = await burst("/api/v1/sync/config")
            assert {r.status_code for r in others} <= {200, 503}
            for reply in others:
                if reply.status_code == 503:
                    assert assert_retry_later(reply)["reason"] == "connection_lost"
        assert {r.status_code for r in await burst("/api/v1/sync/config")} == {200}


def test_only_a_long_idle_pooled_connection_is_pinged_at_checkout() -> None:
    """The checkout check: a connection asyncpg knows is closed is dropped; one idle longer than
    IDLE_PING_SECONDS is pinged (and dropped when the ping fails, e.g. a firewall forgot it); others are
    handed out without a round trip."""
    from types import SimpleNamespace

    from sqlalchemy.exc import DisconnectionError

    from backend.db.engine import IDLE_PING_SECONDS, _drop_closed, _note_idle

    class Connection:  # stands in for the driver's connection and SQLAlchemy's adapter around it
        def __init__(self, *, closed: bool = False, answers: bool = True) -> None:
            self.closed, self.answers, self.pings = closed, answers, 0

        def is_closed(self) -> bool:
            return self.closed

        def ping(self) -> None:
            self.pings += 1
            if not self.answers:
                raise ConnectionResetError("gone")

    def record(conn: Connection, idle: float) -> Any:
        r = SimpleNamespace(driver_connection=conn, info={})
        _note_idle(conn, r)
        r.info["idle_since"] -= idle
        return r

    fresh = Connection(answers=False)
    _drop_closed(fresh, record(fresh, idle=1.0), None)  # recently used: no ping, no round trip
    assert fresh.pings == 0
    alive = Connection()
    _drop_closed(alive, record(alive, idle=IDLE_PING_SECONDS + 1), None)
    assert alive.pings == 1
    for conn, idle in ((Connection(answers=False), IDLE_PING_SECONDS + 1), (Connection(closed=True), 0.0)):
        with pytest.raises(DisconnectionError):
            _drop_closed(conn, record(conn, idle=idle), None)


async def test_a_full_disk_is_a_clear_problem_and_no_half_file_is_published(db: Runtime, client: Any,
                                                                            world: Any) -> None:
    import hashlib

    headers = await world.headers(client, "expert_a")
    sha = hashlib.sha256(FILE).hexdigest()
    declared = await client.post("/api/v1/attachments", headers=headers, json={
        "sha256": sha, "size": len(FILE), "content_type": "image/jpeg", "file_name": "签到表.jpg"})
    assert declared.status_code == 201, declared.text
    async with db.sessionmaker() as s:
        key = (await s.execute(text("SELECT storage_key FROM attachments WHERE sha256 = :s"), {"s": sha})).scalar_one()
    root = db.settings.storage_dir
    partial, final = root / "partial" / key, root / "objects" / key
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.unlink(missing_ok=True)
    partial.symlink_to("/dev/full")  # every write there fails with ENOSPC, as on a full disk
    put = {**headers, "Content-Type": "application/octet-stream",
           "Content-Range": f"bytes 0-{len(FILE) - 1}/{len(FILE)}"}
    try:
        reply = await client.put(declared.json()["upload"]["url"], content=FILE, headers=put)
        body = assert_retry_later(reply, 507)
        assert body["reason"] == "storage_full"
        assert not final.exists()
        state = await client.get(f"/api/v1/attachments/{declared.json()['id']}", headers=headers)
        assert state.json()["status"] != "complete"
    finally:
        partial.unlink(missing_ok=True)
    # Space again: the same upload goes through.
    done = await client.put(declared.json()["upload"]["url"], content=FILE, headers=put)
    assert done.json()["status"] == "complete", done.text
    assert final.read_bytes() == FILE
