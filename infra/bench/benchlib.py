"""What the benchmarks share: the database they run on, and the app called in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from backend.db.engine import database_url
from backend.db.migrate import upgrade
from backend.settings import Settings, load_settings


async def bench_database() -> tuple[Settings, str, list[Any]]:
    """Settings, and the URL of DATABASE_URL or of the embedded PostgreSQL in FIELDLOG_DATA_DIR, migrated.

    Keep the returned list alive as long as the database is used: it holds the embedded server's handle.
    """
    settings = load_settings()
    keep: list[Any] = []
    url = database_url(settings, keep=keep)
    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    return settings, url, keep


@asynccontextmanager
async def in_process_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The whole HTTP app (middleware, token check, scope, JSON, commit) called on this event loop, after its startup.

    httpx's ASGI transport, not Litestar's test client, which hands every request to another thread.
    """
    async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                 base_url="http://bench.local") as client:
        yield client
