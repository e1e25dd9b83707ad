"""A database pool that says how many connections are in use and how many requests wait for one.

A request waits in exactly one place: the pool's queue, once every connection and all overflow room are
taken. It waits at most `pool_timeout` seconds, then SQLAlchemy raises `TimeoutError`, which is answered
503 with Retry-After (backend/outages.py). The gauges are per process; a scrape in multiprocess mode sums them.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util.queue import AsyncAdaptedQueue

from backend.metrics.series import DB_POOL_IN_USE, DB_POOL_WAITING


class _MeteredQueue(AsyncAdaptedQueue):  # type: ignore[type-arg]
    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not block:  # a free connection or overflow room: no wait
            return super().get(block, timeout)
        DB_POOL_WAITING.inc()
        try:
            return super().get(block, timeout)
        finally:
            DB_POOL_WAITING.dec()


class MeteredPool(AsyncAdaptedQueuePool):
    """AsyncAdaptedQueuePool keeping the in-use and waiting gauges current."""

    _queue_class = _MeteredQueue  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _POOLS.add(self)
        # Listeners travel with the dispatch to a recreated pool; add them once.
        if not event.contains(self, "checkout", _checked_out):
            event.listen(self, "checkout", _checked_out)
            event.listen(self, "checkin", _checked_in)


_POOLS: weakref.WeakSet[MeteredPool] = weakref.WeakSet()


def publish_in_use(returning: int = 0) -> int:
    """Set the in-use gauge from the pools' own counts (never drifts, whatever failed on the way)."""
    in_use = max(sum(p.checkedout() for p in list(_POOLS)) - returning, 0)
    DB_POOL_IN_USE.set(in_use)
    return in_use


def _checked_out(*_: Any) -> None:
    publish_in_use()


def _checked_in(*_: Any) -> None:
    publish_in_use(returning=1)  # the event fires before the connection is back in the pool
