"""Liveness, readiness, and telling a sick database apart from a bug (503 with Retry-After, never a 500)."""

from __future__ import annotations

import asyncio
import errno
from typing import Any

import asyncpg
import msgspec
from litestar import Response, get
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from backend.db.migrate import current_revision, head_revision
from backend.metrics.series import DB_POOL_TIMEOUTS, DB_UNAVAILABLE
from backend.runtime import Runtime

RETRY_AFTER_SECONDS = 5
READY_TIMEOUT_SECONDS = 3.0
# PostgreSQL going away or not taking connections: shutting down (57P01..57P03), too many clients (53300).
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# Connecting failed: refused, reset, unreachable, or the unix socket of a stopped local server is gone.
_CONNECT_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH,
                   errno.ENETUNREACH, errno.ETIMEDOUT, errno.EPIPE, errno.ENOENT}
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300", "08000", "08003", "08006", "08001", "08004"}


class Health(msgspec.Struct, kw_only=True, omit_defaults=True):
    status: str
    database: str | None = None
    detail: str | None = None
    schema_revision: str | None = None
    expected_revision: str | None = None
    pool_in_use: int | None = None
    pool_size: int | None = None


def database_unavailable(exc: BaseException) -> str | None:
    """Why the database could not serve this request (`pool_exhausted`, `connection_lost`, `unreachable`), or
    None when `exc` is not a database outage. Looks through the chain: SQLAlchemy wraps the driver's error."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if isinstance(seen, sa_exc.TimeoutError):  # waited pool_timeout for a connection
            return "pool_exhausted"
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return "connection_lost"
        if isinstance(seen, asyncpg.PostgresError) and getattr(seen, "sqlstate", None) in _UNAVAILABLE_SQLSTATES:
            return "connection_lost"
        if isinstance(seen, asyncpg.exceptions.ConnectionDoesNotExistError | asyncpg.InterfaceError):
            return "connection_lost"
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return None  # a full disk is not the database (storage_full)
        if isinstance(seen, ConnectionError | asyncio.TimeoutError | OSError) and _from_driver(seen) and (
                not isinstance(seen, OSError) or isinstance(seen, ConnectionError | asyncio.TimeoutError)
                or seen.errno in _CONNECT_ERRNOS):
            return "unreachable"
        seen = seen.__cause__ or seen.__context__
    return None


def _from_driver(exc: BaseException) -> bool:
    """Raised while the database driver or pool was connecting (not, say, by a file the storage opened)."""
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(("asyncpg", "sqlalchemy")):
            return True
        tb = tb.tb_next
    return False


def storage_full(exc: BaseException) -> bool:
    """A write failed because the disk (or the quota) is full."""
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


def count_unavailable(reason: str) -> None:
    if reason == "pool_exhausted":
        DB_POOL_TIMEOUTS.inc()
    DB_UNAVAILABLE.labels(reason).inc()


@get("/health", operation_id="health", tags=["ops"], summary="The process is alive", security=[])
async def health() -> Health:
    return Health(status="ok")


async def _revision(runtime: Runtime) -> str | None:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return await current_revision(runtime.engine)


@get("/ready", operation_id="ready", tags=["ops"], summary="Database reachable and migrations at head; what is "
     "wrong when not", security=[])
async def ready(runtime: Runtime) -> Response[Health]:
    expected = head_revision()
    pool: Any = runtime.engine.pool  # a QueuePool (backend/metrics/pool.py)
    in_use, size = pool.checkedout(), pool.size() + max(pool._max_overflow, 0)
    try:
        revision = await asyncio.wait_for(_revision(runtime), READY_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - readiness reports any database failure as not ready, with why
        reason = database_unavailable(exc) or "error"
        detail = {"pool_exhausted": "every database connection of this node is in use",
                  "connection_lost": "the database closed the connection (restarting?)",
                  "unreachable": f"cannot connect to the database ({type(exc).__name__})"}.get(
                      reason, f"database check failed ({type(exc).__name__})")
        return Response(Health(status="unavailable", database=reason, detail=detail, expected_revision=expected,
                               pool_in_use=in_use, pool_size=size),
                        status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    ok = revision == expected
    return Response(
        Health(status="ok" if ok else "unavailable", database="ok", schema_revision=revision,
               expected_revision=expected, pool_in_use=in_use, pool_size=size,
               detail=None if ok else "the database schema is not at this release's migration head; run migrate"),
        status_code=200 if ok else 503,
    )
