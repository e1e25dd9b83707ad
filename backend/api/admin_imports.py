"""Back office: bulk import of institutions, users and deployments from CSV or XLSX rosters."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.admin import importer
from backend.admin import schemas as s
from backend.api.admin import ADMIN
from backend.auth.principal import Principal
from backend.http.problems import problem_responses

MAX_IMPORT_BYTES = 10 * 1024 * 1024


class ImportsController(Controller):
    path = "/api/v1/admin/imports"
    tags = ["admin"]
    dependencies = ADMIN

    @post("/{kind:str}", operation_id="admin_import", status_code=200, request_max_body_size=MAX_IMPORT_BYTES,
          summary="Import a CSV/XLSX roster (all or nothing; dry_run validates only)",
          description=(
              "Body: text/csv (UTF-8 or GB18030) or an XLSX workbook (first sheet). Headers in English or Chinese. "
              "Every row is checked and reported (row numbers as the spreadsheet shows them; the header is row 1). "
              "All or nothing: if any row fails, nothing is written and the answer is 422 with `report`. "
              "`dry_run=true` writes nothing and answers 200 with the report either way. "
              "Users without a password get a generated one, returned once in `initial_password`."),
          responses=problem_responses(400, 401, 403, 404, 413, 415, 422))
    async def import_roster(self, kind: Literal["institutions", "users", "deployments"], request: Request[Any, Any, Any],
                            db: AsyncSession, admin: Principal, dry_run: bool = False) -> s.ImportReport:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        return await importer.import_rows(db, admin, kind, body, media_type, dry_run=dry_run)
