"""The application factory: the one module that assembles the core with the phone-facing layers."""

from __future__ import annotations

import gc
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server

from backend.auth.principal import Principal
from backend.http.client import nosniff, trusted_client
from backend.http.compression import gzip_responses
from backend.http.deps import provide_claims, provide_db, provide_principal, provide_runtime
from backend.http.metrics import metrics_middleware
from backend.http.middleware import InflightLimiter, gzip_requests, request_context
from backend.http.openapi import complete_allow, refine_openapi
from backend.http.problems import EXCEPTION_HANDLERS
from backend.http.strict import validate_body_strictly
from backend.runtime import Runtime
from backend.settings import Settings
from backend.storage import start_storage, stop_storage


def route_handlers() -> list[Any]:
    """Every router of the service; phone-facing modules are imported here and nowhere else in the core."""
    from backend import health
    from backend.api.routes import ROUTES as BACKOFFICE
    from backend.http.metrics import metrics
    from mobile_api.app import ROUTER as PHONE_APP
    from mobile_api.auth import AuthController
    from mobile_api.routes import ROUTES as MOBILE
    from sync.server.routes import ROUTES as SYNC

    return [health.health, health.ready, metrics, AuthController, *BACKOFFICE, *MOBILE, *SYNC, PHONE_APP]


def catalogue_enums() -> dict[str, list[str]]:
    """Values the server checks against the activity catalogue, published as enums (backend/http/openapi.py)."""
    from backend.review.corrections import CORRECTABLE, allowed_values
    from backend.worklog.catalog import CATALOG

    types = [t.key for t in CATALOG.activity_types]
    enums = {"EntryCreate.activity_type": types, "?activity_type": types}
    enums.update({f"Correction.{name}": sorted(allowed_values(name)) for name in CORRECTABLE})
    return enums


def job_registry() -> Any:
    """Every background job: the core's, plus the sync layer's daily horizon purge (sync is imported only here)."""
    from backend.job_catalog import core_registry, horizon_job, horizon_periodic
    from sync.server.horizon import purge_answers, purge_tombstones

    return core_registry(horizon_job(purge_tombstones, purge_answers), extra_periodic=(horizon_periodic(),))


def _worker_hooks(settings: Settings) -> tuple[list[Any], list[Any]]:
    if not settings.worker_in_process:
        return [], []
    from backend.jobs.inprocess import worker_hooks

    start, stop = worker_hooks(job_registry)
    return [start], [stop]


def freeze_startup_objects() -> None:
    """Keep what was built at start-up (modules, routes, the schema, the catalogue: ~250,000 objects that live
    as long as the process) out of the collector's full passes, which otherwise walk them again and again while
    concurrent sync pushes churn memory (~15% of a 200-entry push's CPU on the benchmark). For serving processes
    (`fieldlog serve`, the benchmark's launcher), not for tests, which build and drop many apps."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, database_url: str, *, debug: bool = False) -> Litestar:
    """Build the ASGI app; the database engine is created on start-up inside the running event loop."""
    runtime_holder: dict[str, Runtime] = {}

    async def on_startup(app: Litestar) -> None:
        runtime = Runtime.build(settings, database_url)
        await start_storage(runtime)
        runtime_holder["runtime"] = runtime
        app.state["runtime"] = runtime
        for hook in app.state.get("startup_hooks", []):
            await hook(runtime)

    async def on_shutdown(app: Litestar) -> None:
        runtime = runtime_holder.get("runtime")
        if runtime is not None:
            for hook in app.state.get("shutdown_hooks", []):
                await hook(runtime)
            await stop_storage(runtime)
            await runtime.engine.dispose()

    app = Litestar(
        route_handlers=route_handlers(),
        dependencies={
            "runtime": Provide(provide_runtime),
            "db": Provide(provide_db),
            "claims": Provide(provide_claims),
            "principal": Provide(provide_principal),
        },
        signature_types=[Principal, Runtime],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_request=validate_body_strictly,
        before_send=[nosniff, complete_allow],  # every answer, routed or not: downloads, exports, documents, console, problems
        middleware=[
            trusted_client(settings.trusted_proxies),  # first: everything after it sees the real client address
            metrics_middleware,
            request_context,
            InflightLimiter(settings.max_inflight_requests),
            gzip_requests(settings.sync_max_body_bytes, settings.sync_max_expanded_bytes),
            gzip_responses(minimum_size=1024),  # ISA-L gzip: zlib level 6's size at a twentieth of the CPU
        ],
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,  # `fieldlog serve` installs JSON logging; Litestar's default would replace it
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        state=State(dict(zip(("startup_hooks", "shutdown_hooks"), _worker_hooks(settings), strict=True))),
        openapi_config=OpenAPIConfig(
            title="fieldlog API",
            version="1.0.0",
            description="Work log, offline sync, review, statistics and evidence export for dispatched medical experts.",
            servers=[Server(url=settings.public_base_url)],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"bearer": []}],
            path="/schema",
        ),
        debug=debug,
    )
    refine_openapi(app, settings, catalogue_enums())  # the published schema says what the server enforces (backend/http/openapi.py)
    return app
