"""Test harness: a real PostgreSQL (embedded pgserver, or TEST_DATABASE_URL), schema built by the migrations.

Integration and API tests ask for `db` (a clean database per test), `session` or `client`; unit tests ask for
none of them and never start PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app import create_app
from backend.db.engine import plain_url
from backend.db.migrate import upgrade
from backend.runtime import Runtime
from backend.settings import Settings, load_settings

TEST_DB = "fieldlog_test"
JWT_SECRET = "test-signing-key-0123456789-abcdefghijklmnop"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(plain_url(url))
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The maintenance URL of the PostgreSQL the tests use."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    import pgserver

    # A short path: PostgreSQL's unix socket path must stay under ~100 bytes.
    base = Path(os.environ.get("FIELDLOG_TEST_PGDATA", f"/tmp/fieldlog-test-pg-{os.getuid()}-{os.getpid()}"))
    server = pgserver.get_server(str(base), cleanup_mode="delete")
    yield str(server.get_uri())
    server.cleanup()


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> str:
    """A fresh database, migrated to head by Alembic, for this test session."""

    async def recreate() -> None:
        conn = await asyncpg.connect(plain_url(pg_server_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{TEST_DB}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    url = _with_database(pg_server_url, TEST_DB)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("data")
    return load_settings(
        {
            "FIELDLOG_DATA_DIR": str(data),
            "FIELDLOG_JWT_KEYS": f"t1:{JWT_SECRET}",
            "FIELDLOG_STORAGE_DIR": str(data / "files"),
            "FIELDLOG_LOGIN_MAX_FAILURES": "5",
            "FIELDLOG_MAX_INFLIGHT": "10000",
            "FIELDLOG_WORKER_IN_PROCESS": "false",  # tests run jobs with backend.job_catalog.drain or a worker
            "FIELDLOG_NOTIFY_ALLOW_HOSTS": "127.0.0.1",  # the fake WeCom/DingTalk/SMTP servers (not localhost)
        }
    )


@pytest.fixture(scope="session")
async def runtime(test_settings: Settings, database_url: str) -> AsyncIterator[Runtime]:
    rt = Runtime.build(test_settings, database_url)
    yield rt
    await rt.engine.dispose()


_TABLES_SQL = """
SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables
WHERE schemaname IN ('public', 'jobs') AND tablename <> 'alembic_version'
"""


@pytest.fixture
async def db(runtime: Runtime) -> Runtime:
    """A clean database for this test (every table emptied; the audit trail's guard is bypassed only here)."""
    async with runtime.engine.begin() as conn:
        driver = await conn.get_raw_connection()
        raw: Any = driver.driver_connection
        tables = await raw.fetchval(_TABLES_SQL)
        await raw.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate")
        await raw.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        await raw.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_truncate")
        await raw.execute("INSERT INTO sync_horizon (id, min_xid) VALUES (1, 0)")
    return runtime


@pytest.fixture
async def session(db: Runtime) -> AsyncIterator[AsyncSession]:
    """A session for arranging and inspecting data; commit explicitly to make rows visible to the app."""
    async with db.sessionmaker() as s:
        yield s


@pytest.fixture(scope="session")
async def app_client(test_settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(test_settings, database_url)
    async with AsyncTestClient(app=app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def client(db: Runtime, app_client: AsyncTestClient[Any]) -> AsyncTestClient[Any]:
    """The HTTP app, on a clean database."""
    app_client.headers.clear()
    app_client.cookies.clear()
    return app_client


@pytest.fixture
async def world(session: AsyncSession) -> Any:
    """A small programme: see tests/factories.py `World`."""
    from tests.factories import make_world

    return await make_world(session)
