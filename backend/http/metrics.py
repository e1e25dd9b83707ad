"""Request counting by route template, and the protected `GET /metrics` in Prometheus' text format.

Routes are labelled by template (`/api/v1/entries/{entry_id:uuid}`), never by raw path, so the number of
series stays fixed whatever ids callers send. `/metrics` is not in the OpenAPI schema: it is for the
operator's Prometheus, not a contract phone teams generate clients from. It answers 404 unless
FIELDLOG_METRICS_TOKEN is set, and then only to `Authorization: Bearer <that token>`.
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

from litestar import Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from backend.errors import DomainError, NotFound, Unauthorized
from backend.http.deps import runtime_of
from backend.http.problems import problem_responses
from backend.metrics.collect import database_registry
from backend.metrics.pool import publish_in_use
from backend.metrics.series import HTTP_LATENCY, HTTP_REQUESTS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Count each answered request by method, route template and status, with its latency."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_status)
        except DomainError as exc:  # raised by an inner middleware (overload, body limits): answered outside
            status = exc.status
            raise
        finally:
            route = scope.get("path_template") or "unmatched"
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)

    return middleware


def _process_registry() -> Any:
    """This process's series, or every worker's when prometheus-client runs in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def check_token(request: Request[Any, Any, Any], token: str | None) -> None:
    if not token:
        raise NotFound("Not found")  # metrics are off: the route looks like any unknown path
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("Send the metrics token as 'Authorization: Bearer <token>'",
                           extra={"reason": "metrics_token"}, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


@get("/metrics", operation_id="metrics", include_in_schema=False, security=[], tags=["ops"],
     summary="Prometheus metrics (bearer FIELDLOG_METRICS_TOKEN)", responses=problem_responses(401, 404))
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = runtime_of(request.app.state)
    check_token(request, runtime.settings.metrics_token)
    publish_in_use()
    body = generate_latest(_process_registry()) + generate_latest(await database_registry(runtime.engine))
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
