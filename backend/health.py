"""Liveness, readiness, and telling a sick database apart from a bug (503 with Retry-After, never a 500)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from litestar import Response, get
from sqlalchemy import text

from backend.db.migrate import current_revision, head_revision
from backend.outages import RETRY_AFTER_SECONDS, database_unavailable
from backend.runtime import Runtime
from backend.security.key_agreement import KeyDisagreement, check_signing_keys, node_name

READY_TIMEOUT_SECONDS = 3.0
_log = logging.getLogger("fieldlog.health")


class Health(msgspec.Struct, kw_only=True, omit_defaults=True):
    status: str
    database: str | None = None
    detail: str | None = None
    schema_revision: str | None = None
    expected_revision: str | None = None
    pool_in_use: int | None = None
    pool_size: int | None = None


@get("/health", operation_id="health", tags=["ops"], summary="The process is alive", security=[])
async def health() -> Health:
    return Health(status="ok")


async def _revision(runtime: Runtime) -> str | None:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return await current_revision(runtime.engine)


async def _key_disagreements(runtime: Runtime) -> list[KeyDisagreement]:
    """Checked once per process, on the first probe that finds the schema in place (the keys do not change)."""
    known: list[KeyDisagreement] | None = runtime.extras.get("key_disagreements")
    if known is None:
        async with runtime.engine.begin() as conn:
            known = await check_signing_keys(conn, runtime.settings.jwt_keys, node_name())
        runtime.extras["key_disagreements"] = known
        for disagreement in known:
            _log.error("not ready: %s", disagreement.describe())
    return known


@get("/ready", operation_id="ready", tags=["ops"], summary="Database reachable and migrations at head; what is "
     "wrong when not", security=[])
async def ready(runtime: Runtime) -> Response[Health]:
    expected = head_revision()
    pool: Any = runtime.engine.pool  # a QueuePool (backend/metrics/pool.py)
    in_use, size = pool.checkedout(), pool.size() + max(pool._max_overflow, 0)
    try:
        revision = await asyncio.wait_for(_revision(runtime), READY_TIMEOUT_SECONDS)
        keys = await asyncio.wait_for(_key_disagreements(runtime), READY_TIMEOUT_SECONDS) \
            if revision == expected else []
    except Exception as exc:  # noqa: BLE001 - readiness reports any database failure as not ready, with why
        reason = database_unavailable(exc) or "error"
        detail = {"pool_exhausted": "every database connection of this node is in use",
                  "connection_lost": "the database closed the connection (restarting?)",
                  "unreachable": f"cannot connect to the database ({type(exc).__name__})"}.get(
                      reason, f"database check failed ({type(exc).__name__})")
        return Response(Health(status="unavailable", database=reason, detail=detail, expected_revision=expected,
                               pool_in_use=in_use, pool_size=size),
                        status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    ok = revision == expected and not keys
    detail = None
    if revision != expected:
        detail = "the database schema is not at this release's migration head; run migrate"
    elif keys:
        detail = "; ".join(k.describe() for k in keys)
    return Response(
        Health(status="ok" if ok else "unavailable", database="ok", schema_revision=revision,
               expected_revision=expected, pool_in_use=in_use, pool_size=size, detail=detail),
        status_code=200 if ok else 503,
    )
