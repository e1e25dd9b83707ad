"""The sync endpoints phones call (push, pull, config) and the health views people read (devices, rejected)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import DomainError, InvalidInput, PayloadTooLarge
from backend.http.deps import requires_role, runtime_of
from backend.http.problems import problem_responses, request_id_of
from backend.http.strict import validate_body_strictly
from backend.runtime import Runtime
from backend.security.tokens import AccessClaims
from sync.server.caller import SyncCaller, provide_sync_caller
from sync.server.health import DeviceHealth, RefusedMutation, device_health, refused_mutations
from sync.server.protocol import (
    PROTOCOL,
    PullResponse,
    PushRequest,
    PushResponse,
    SyncConfig,
    check_schema_version,
    probe_schema_version,
)
from sync.server.pull import PULL_PAGE_MAX, pull
from sync.server.push import push


class LengthRequired(DomainError):
    status = 411
    type_slug = "length-required"
    title = "Content-Length required"


async def bounded_sync_body(request: Request[Any, Any, Any]) -> None:
    """Sync bodies get the sync limits (larger than the app's), checked from Content-Length before any read.

    The gzip middleware has already bounded a compressed body (wire size) and its expansion, and replaced
    Content-Length with the expanded size; a plain body is held to the wire limit.
    """
    settings = runtime_of(request.app.state).settings
    length = request.content_length
    if length is None:
        raise LengthRequired("Send the push with a Content-Length header")
    gzipped = "gzip_wire_bytes" in request.scope.get("state", {})
    # A gzip body was bounded on the wire by the middleware; a plain body's wire size is its length.
    limit = settings.sync_max_expanded_bytes if gzipped else settings.sync_max_body_bytes
    if length > limit:
        kind = "decoded" if gzipped else "uncompressed"
        raise PayloadTooLarge(f"A push body may be at most {limit} bytes {kind}; send gzip or smaller batches",
                              extra={"limit": limit, "reason": "body_too_large"})
    try:
        await validate_body_strictly(request)
    except InvalidInput:
        # A newer app's push may hold keys this server does not know: it must hold its outbox, not "fix" it.
        check_schema_version(probe_schema_version(await request.body()))
        raise


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]

    @post("/push", operation_id="sync_push", status_code=200, request_max_body_size=None,
          before_request=bounded_sync_body, dependencies={"caller": Provide(provide_sync_caller)},
          summary="Push queued mutations; each is applied exactly once and answered on its own",
          responses=problem_responses(400, 401, 403, 409, 411, 413, 415, 422))
    async def push(self, data: PushRequest, db: AsyncSession, caller: SyncCaller, runtime: Runtime) -> PushResponse:
        return await push(db, caller.principal, data, runtime.settings, disabled=caller.disabled)

    @get("/pull", operation_id="sync_pull", summary="Changes in my scope since the cursor, page by page",
         responses=problem_responses(400, 401))
    async def pull(self, request: Request[Any, Any, Any], claims: AccessClaims,
                   cursor: Annotated[str | None, Parameter(max_length=4000)] = None,
                   limit: Annotated[int, Parameter(ge=1, le=PULL_PAGE_MAX)] = 200) -> PullResponse:
        # The pull checks the caller itself, in its first statement (sync/server/pull.py): one round trip less.
        # One dependency only: Litestar resolves two or more of one level in a task group, ~0.1 ms a request.
        runtime = runtime_of(request.app.state)
        page = await pull(runtime.engine, claims, cursor, limit, runtime.settings, request_id_of(request))
        request.scope["state"]["user_id"] = str(claims.user_id)  # for the access log, once the caller passed
        return page

    @get("/config", operation_id="sync_config", summary="Limits the server advertises and enforces",
         responses=problem_responses(401))
    async def config(self, principal: Principal, runtime: Runtime) -> SyncConfig:
        s = runtime.settings
        return SyncConfig(protocol=PROTOCOL, max_batch=s.sync_max_batch, max_body_bytes=s.sync_max_body_bytes,
                          max_expanded_bytes=s.sync_max_expanded_bytes, max_attachment_bytes=s.attachment_max_bytes,
                          attachment_types=list(s.attachment_types), pull_page_max=PULL_PAGE_MAX,
                          tombstone_days=s.tombstone_days)

    @get("/devices", operation_id="sync_devices",
         summary="Sync health of the devices of experts in my scope (least recently synced first)",
         responses=problem_responses(400, 401, 403))
    async def devices(self, db: AsyncSession, principal: Principal,
                      limit: Annotated[int, Parameter(ge=1, le=1000)] = 200) -> list[DeviceHealth]:
        requires_role(principal, "expert", "supervisor", "hr", "admin")
        return await device_health(db, principal, limit=limit)

    @get("/rejected", operation_id="sync_rejected",
         summary="Mutations the server refused or quarantined, with what was sent and why",
         responses=problem_responses(400, 401, 403))
    async def rejected(self, db: AsyncSession, principal: Principal, expert_id: uuid.UUID | None = None,
                       limit: Annotated[int, Parameter(ge=1, le=500)] = 100) -> list[RefusedMutation]:
        requires_role(principal, "expert", "supervisor", "admin")
        return await refused_mutations(db, principal, expert_id=expert_id, limit=limit)
