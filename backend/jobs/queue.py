"""The queue itself: pgqueuer over asyncpg, its tables in the `jobs` schema, and enqueueing inside a transaction.

Why pgqueuer and not procrastinate: the service already speaks asyncpg (procrastinate needs psycopg 3, a second
driver and pool), pgqueuer's workers re-pick a job whose worker stopped sending heartbeats (a killed worker's
job finishes on another), its cron schedules are claimed with `FOR UPDATE SKIP LOCKED` (one node runs each
tick), and its schema is plain DDL we freeze in our own Alembic migration (0009). No Redis, no new server.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import msgspec
from pgqueuer.adapters.persistence import qb
from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.domain.settings import DBSettings
from pgqueuer.ports.driver import Driver
from sqlalchemy.ext.asyncio import AsyncSession

SCHEMA = "jobs"


@functools.cache
def db_settings() -> DBSettings:
    """pgqueuer's object names, all in our `jobs` schema (explicit, so PGQUEUER_* variables cannot move them)."""
    return DBSettings(db_schema=SCHEMA, prefix="", durability="durable")


def queries(driver: Driver) -> Queries:
    settings = db_settings()
    return Queries(
        driver,
        qbe=qb.QueryBuilderEnvironment(settings),
        qbq=qb.QueryQueueBuilder(settings),
        qbs=qb.QuerySchedulerBuilder(settings),
    )


def encode(payload: dict[str, Any]) -> bytes:
    return msgspec.json.encode(payload)


def decode(raw: bytes | None) -> dict[str, Any]:
    if not raw:
        return {}
    value = msgspec.json.decode(raw)
    return value if isinstance(value, dict) else {}


async def enqueue(
    session: AsyncSession,
    job: str,
    payload: dict[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    delay: timedelta | None = None,
    priority: int = 0,
) -> int | None:
    """Queue `job` in the caller's transaction: it becomes visible to workers when, and only if, that commits.

    With a `dedupe_key`, a second enqueue while the first is still queued or running is skipped (None).
    """
    sql = qb.QueryQueueBuilder(db_settings()).build_enqueue_query("skip")
    conn = await session.connection()
    # The app's driver is asyncpg, whose paramstyle is $n: pgqueuer's SQL goes through as it is, inside the
    # session's transaction (a raw connection would autocommit before SQLAlchemy began one).
    rows = await conn.exec_driver_sql(
        sql,
        ([priority], [job], [encode(payload or {})], [delay or timedelta(0)], [dedupe_key], ["{}"]),
    )
    found = rows.mappings().first()
    return int(found["id"]) if found is not None and found["id"] is not None else None
