"""HR's promotion round: start one for the caller's home hospital, follow its progress, download the ZIP."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import File, Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.exports import content_disposition
from backend.auth.principal import Principal
from backend.errors import ServiceUnavailable
from backend.export import rounds
from backend.export.rounds import RoundCreate, RoundView
from backend.http.problems import problem_responses
from backend.runtime import Runtime
from backend.storage import storage_of
from backend.storage.base import Storage


async def provide_storage(runtime: NamedDependency[Runtime]) -> Storage:
    return storage_of(runtime)


class RoundsController(Controller):
    path = "/api/v1/exports/rounds"
    tags = ["exports"]
    dependencies = {"storage": Provide(provide_storage)}

    @post(
        "/",
        operation_id="create_promotion_round",
        status_code=202,
        summary="Start a promotion round: every expert of the caller's home hospital, one ZIP (signed PDF + XLSX "
        "each, and an index sheet)",
        responses=problem_responses(400, 401, 403, 404, 413, 415, 422),
    )
    async def create(self, data: RoundCreate, db: AsyncSession, principal: Principal) -> Response[RoundView]:
        return Response(await rounds.create_round(db, principal, data), status_code=202)

    @get(
        "/{round_id:uuid}",
        operation_id="get_promotion_round",
        summary="Status and progress (0-100) of a promotion round",
        responses=problem_responses(401, 404),
    )
    async def get_one(self, round_id: uuid.UUID, db: AsyncSession, principal: Principal) -> RoundView:
        return await rounds.get_round(db, principal, round_id)

    @get(
        "/{round_id:uuid}/file",
        operation_id="download_promotion_round",
        summary="The round's ZIP: a redirect to a short-lived URL (S3) or the bytes (disk)",
        responses=problem_responses(401, 404, 409),
    )
    async def download(
        self, round_id: uuid.UUID, db: AsyncSession, principal: Principal, storage: Storage
    ) -> Response[Any]:
        row = await rounds.finished_round(db, principal, round_id)
        assert row.storage_key is not None
        name = rounds.zip_name(row)
        url = await storage.download_url(row.storage_key, name, rounds.ZIP_TYPE)
        if url:
            return Redirect(path=url, status_code=302, headers={"Cache-Control": "no-store"})
        path = storage.local_path(row.storage_key)
        if path is None:
            raise ServiceUnavailable("The file cannot be read right now")
        return File(
            path=path,
            media_type=rounds.ZIP_TYPE,
            filename=name,
            headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"},
        )
