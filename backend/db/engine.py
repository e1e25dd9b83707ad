"""Create the async engine and session factory; start an embedded PostgreSQL when none is configured."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from backend.settings import Settings

log = logging.getLogger("fieldlog.db")


def asyncpg_url(url: str) -> str:
    """Turn any postgresql:// URL into the SQLAlchemy asyncpg form."""
    parts = urlsplit(url)
    scheme = "postgresql+asyncpg"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def plain_url(url: str) -> str:
    """The libpq form (for asyncpg.connect and psql) of a SQLAlchemy or plain URL."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


def start_embedded(data_dir: Path) -> Any:
    """Start (or reuse) the pgserver PostgreSQL kept in `data_dir/pg`; returns the server handle."""
    import pgserver  # imported late: production never loads it

    pg_dir = (data_dir / "pg").resolve()
    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pg_dir)
    # cleanup_mode="stop" stops the server with this process but keeps the data for the next start.
    server = pgserver.get_server(str(pg_dir), cleanup_mode="stop")
    log.info("embedded PostgreSQL running in %s", pg_dir)
    return server


def database_url(settings: Settings, *, keep: list[Any] | None = None) -> str:
    """The configured DATABASE_URL, or the embedded PostgreSQL in the data folder (started on demand).

    Keep `keep` alive as long as the database is used: it receives the embedded server's handle.
    """
    if settings.database_url:
        return settings.database_url
    server = start_embedded(settings.data_dir)
    if keep is not None:
        keep.append(server)
    return str(server.get_uri())


def _forget_dead_handles(pg_dir: Path) -> None:
    """Drop the ids of processes that died without saying so from pgserver's list of users of the server.

    pgserver stops the server when the last process in that list exits; a process killed outright never
    removes itself, and the server would then never be stopped again.
    """
    import psutil  # a dependency of pgserver

    handles = pg_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def make_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 10.0, echo: bool = False) -> AsyncEngine:
    """An engine whose connections run in UTC with a bounded pool (a request waits at most `pool_timeout` s)."""
    from backend.metrics.pool import MeteredPool

    engine = create_async_engine(
        asyncpg_url(url),
        poolclass=MeteredPool,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        # Most recently used first: a few hot connections serve a quiet node, so their prepared statements are
        # planned and cached (PostgreSQL plans a prepared statement afresh for its first five executions, and the
        # pull's statements take milliseconds to plan); with first-in-first-out every request got a cold one.
        pool_use_lifo=True,
        echo=echo,
        connect_args={"server_settings": {"timezone": "UTC", "application_name": "fieldlog"}},
    )
    event.listen(engine.sync_engine, "checkout", _drop_closed)  # pool events, kept when the pool is recreated
    event.listen(engine.sync_engine, "checkin", _note_idle)
    return engine


IDLE_PING_SECONDS = 30.0


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["idle_since"] = time.monotonic()


def _drop_closed(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Hand out no connection the server has closed (PostgreSQL restarted, an idle timeout, a failover).

    Instead of SQLAlchemy's pre-ping, which costs three round trips per checkout (BEGIN, a ping, ROLLBACK, on
    every request): asyncpg learns that the server closed the socket as soon as the event loop sees it, so the
    check is local; only a connection idle for more than IDLE_PING_SECONDS (where a firewall or PgBouncer may
    have dropped it silently) is pinged. DisconnectionError makes the pool discard this connection and hand out
    a fresh one. A connection lost while in use fails its statement: 503 with Retry-After (the pull retries once
    on a fresh connection, sync/server/pull.py).
    """
    if record.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")
    if time.monotonic() - record.info.get("idle_since", time.monotonic()) > IDLE_PING_SECONDS:
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("a long idle pooled connection no longer answers") from exc


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
