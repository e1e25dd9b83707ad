"""Every series the service exports, defined once, and the small recording helpers other modules call.

The series live in prometheus-client's process registry. With several uvicorn workers in one container set
PROMETHEUS_MULTIPROC_DIR (see docs/operations.md): the library then keeps each worker's values in files there
and the scrape adds them up (gauges: `livesum`, the sum over live workers).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# `*_created` timestamps double the series count and no alert or graph here uses them.
disable_created_metrics()

# Request latency buckets: a pull or a small push is a few ms, a 500-entry push or an export request a second.
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter("fieldlog_http_requests", "HTTP requests answered, by route template and status",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("fieldlog_http_request_duration_seconds", "Time to answer a request, by route template",
                         ["method", "route"], buckets=_LATENCY)
SYNC_PUSH_MUTATIONS = Counter("fieldlog_sync_push_mutations", "Pushed mutations by the answer each got",
                              ["outcome"])
SYNC_PUSH_BATCH = Histogram("fieldlog_sync_push_batch_size", "Mutations per push",
                            buckets=(1, 5, 20, 50, 100, 200, 500, 1000, 5000))
SYNC_PULL_CHANGES = Histogram("fieldlog_sync_pull_changes", "Changes per pull page, first sync or incremental",
                              ["phase"], buckets=(0, 1, 10, 50, 100, 200, 500))
SYNC_PULL_RESETS = Counter("fieldlog_sync_pull_resets", "Pulls answered with a reset, by reason", ["reason"])
DB_POOL_IN_USE = Gauge("fieldlog_db_pool_in_use", "Database connections checked out of the pool",
                       multiprocess_mode="livesum")
DB_POOL_WAITING = Gauge("fieldlog_db_pool_waiting", "Requests waiting for a database connection",
                        multiprocess_mode="livesum")
DB_POOL_TIMEOUTS = Counter("fieldlog_db_pool_timeouts", "Requests refused (503) after waiting the bounded time "
                           "for a database connection")
DB_UNAVAILABLE = Counter("fieldlog_db_unavailable", "Requests answered 503 because the database was unreachable",
                         ["reason"])
LOGIN_THROTTLED = Counter("fieldlog_login_throttled", "Sign-ins refused with 429, by the budget that was spent "
                          "(address, pair = account x address, account, device)", ["key"])
LOGIN_DELAYED = Counter("fieldlog_login_delayed", "Sign-ins slowed down because their account had many recent "
                        "failures")
EXPORT_DURATION = Histogram("fieldlog_export_duration_seconds", "Time to render an evidence export, by outcome",
                            ["outcome"], buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))


def record_push(outcomes: Iterable[str]) -> None:
    """Count one push's answers (applied, duplicate, conflict, locked, rejected, quarantined...)."""
    counted: dict[str, int] = {}
    for outcome in outcomes:
        counted[outcome] = counted.get(outcome, 0) + 1
    for outcome, n in counted.items():
        SYNC_PUSH_MUTATIONS.labels(outcome).inc(n)
    SYNC_PUSH_BATCH.observe(sum(counted.values()))


def record_pull(phase: str, changes: int) -> None:
    SYNC_PULL_CHANGES.labels(phase).observe(changes)


def record_reset(reason: str) -> None:
    SYNC_PULL_RESETS.labels(reason).inc()
