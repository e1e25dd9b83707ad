"""Telling a sick database or a full disk apart from a bug: the one classification that the problem handler
(503 with Retry-After, 507) and the readiness probe share."""

from __future__ import annotations

import asyncio
import errno

import asyncpg
from sqlalchemy import exc as sa_exc

from backend.metrics.series import DB_POOL_TIMEOUTS, DB_UNAVAILABLE

RETRY_AFTER_SECONDS = 5
# PostgreSQL going away or not taking connections: shutting down (57P01..57P03), too many clients (53300).
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# Connecting failed: refused, reset, unreachable, or the unix socket of a stopped local server is gone.
_CONNECT_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH,
                   errno.ENETUNREACH, errno.ETIMEDOUT, errno.EPIPE, errno.ENOENT}
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300", "08000", "08003", "08006", "08001", "08004"}



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
        # InternalClientError: asyncpg's protocol found the server's side of the session gone mid-exchange (the
        # backend was terminated, PostgreSQL restarted) before it had marked the connection closed.
        if isinstance(seen, asyncpg.exceptions.ConnectionDoesNotExistError | asyncpg.InterfaceError
                      | asyncpg.InternalClientError):
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
