"""Liveness and readiness."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from sqlalchemy import text

from backend.db.migrate import current_revision, head_revision
from backend.runtime import Runtime


class Health(msgspec.Struct, kw_only=True, omit_defaults=True):
    status: str
    database: str | None = None
    schema_revision: str | None = None
    expected_revision: str | None = None


@get("/health", operation_id="health", tags=["ops"], summary="The process is alive", security=[])
async def health() -> Health:
    return Health(status="ok")


@get("/ready", operation_id="ready", tags=["ops"], summary="Database reachable and migrations at head", security=[])
async def ready(runtime: Runtime) -> Response[Health]:
    expected = head_revision()
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        revision = await current_revision(runtime.engine)
    except Exception:  # noqa: BLE001 - readiness reports any database failure as not ready
        return Response(Health(status="unavailable", database="unreachable", expected_revision=expected), status_code=503)
    ok = revision == expected
    return Response(
        Health(status="ok" if ok else "unavailable", database="ok", schema_revision=revision, expected_revision=expected),
        status_code=200 if ok else 503,
    )
