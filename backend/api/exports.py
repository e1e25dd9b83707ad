"""Evidence exports (HR, admin, the expert themself) and the public verification page of a document."""

from __future__ import annotations

import uuid
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Controller, MediaType, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.documents import verification
from backend.documents.verification import FileCheck
from backend.errors import NotFound
from backend.export import service, verify
from backend.export.jobs import enqueue_export
from backend.export.schemas import ExportCreate, ExportJob, Verification
from backend.http.params import ExportFormat, VerificationCode
from backend.http.problems import problem_responses
from backend.reports import verify_page as report_verify
from backend.reports.issued import IssuedView
from backend.runtime import Runtime


def content_disposition(file_name: str) -> str:
    # RFC 6266: an ASCII fallback for old clients, the UTF-8 name (Chinese) for the rest.
    fallback = "fieldlog-export." + file_name.rsplit(".", 1)[-1]
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name)}"


class ExportController(Controller):
    path = "/api/v1/exports"
    tags = ["exports"]

    @post(
        "/",
        operation_id="create_export",
        status_code=202,
        summary="Start an evidence export (PDF, XLSX, CSV) of an expert's approved work over a period",
        responses=problem_responses(400, 401, 404, 413, 415, 422),
    )
    async def create(
        self, data: ExportCreate, db: AsyncSession, principal: Principal, runtime: Runtime
    ) -> Response[ExportJob]:
        job = await service.create_export(db, principal, data, runtime.settings)
        # Queued in the request's transaction: a worker sees the job exactly when the export row exists.
        await enqueue_export(db, job.id)
        return Response(job, status_code=202)

    @get(
        "/{export_id:uuid}",
        operation_id="get_export",
        summary="Status, progress and files of an export",
        responses=problem_responses(401, 404),
    )
    async def get_one(
        self, export_id: uuid.UUID, db: AsyncSession, principal: Principal, runtime: Runtime
    ) -> ExportJob:
        return await service.get_export(db, principal, export_id, runtime.settings)

    @get(
        "/{export_id:uuid}/files/{fmt:str}",
        operation_id="download_export_file",
        summary="Download one file of a finished export (pdf, xlsx or csv)",
        media_type=MediaType.TEXT,
        responses=problem_responses(401, 404, 409),
    )
    async def download(
        self, export_id: uuid.UUID, fmt: ExportFormat, db: AsyncSession, principal: Principal
    ) -> Response[bytes]:
        file = await service.download(db, principal, export_id, fmt)
        return Response(
            file.content,
            media_type=file.content_type,
            headers={
                "Content-Disposition": content_disposition(file.file_name),
                "ETag": f'"{file.sha256}"',
                "Cache-Control": "private, no-store",
            },
        )


async def _lookup(db: AsyncSession, code: str) -> Verification | IssuedView:
    """An evidence export's statement, or else an issued report's (monthly summary, annual report, appraisal)."""
    try:
        return await verify.lookup(db, code)
    except NotFound:
        return await report_verify.lookup(db, code)


class VerifyController(Controller):
    path = ""
    tags = ["verify"]

    @get(
        "/verify/{code:str}",
        operation_id="verify_document_page",
        security=[],
        media_type=MediaType.HTML,
        summary="Public page: what a document with this verification code states (JSON with Accept)",
        responses=problem_responses(404),
    )
    async def page(
        self, code: VerificationCode, db: AsyncSession, runtime: Runtime, request: Request
    ) -> Response[str | Verification | IssuedView]:
        view = await _lookup(db, code)
        wanted = request.accept.best_match(
            [MediaType.HTML.value, MediaType.JSON.value], default=MediaType.HTML.value
        )
        if wanted == MediaType.JSON.value:
            return Response(view, media_type=MediaType.JSON)
        tz = ZoneInfo(runtime.settings.timezone)
        if isinstance(view, IssuedView):
            return Response(report_verify.render_html(view, tz), media_type=MediaType.HTML)
        return Response(verify.render_html(view, tz), media_type=MediaType.HTML)

    @get(
        "/api/v1/verify/{code:str}",
        operation_id="verify_document",
        security=[],
        summary="Public: what a document with this verification code states, and its files' SHA-256",
        responses=problem_responses(404),
    )
    async def json(self, code: VerificationCode, db: AsyncSession) -> Verification | IssuedView:
        return await _lookup(db, code)

    @post(
        "/api/v1/verify/{code:str}/file",
        operation_id="verify_document_file",
        security=[],
        status_code=200,
        request_max_body_size=verification.MAX_CHECK_BYTES + 1,
        summary="Public: is this file (the raw bytes as the body) the document issued under this code?",
        description=(
            "Send the file itself as the body (any content type, e.g. application/pdf or "
            "application/octet-stream). The answer compares its SHA-256 with the files issued under the "
            f"code. At most {verification.MAX_CHECK_BYTES} bytes; {verification.CHECKS_PER_WINDOW} checks per "
            f"{int(verification.WINDOW_SECONDS)} s per address."
        ),
        responses=problem_responses(404, 413, 422, 429),
    )
    async def check_file(self, code: VerificationCode, db: AsyncSession, request: Request) -> FileCheck:
        rule = request.app.state.get("verify_check_limit") or verification.CheckLimit()
        await verification.admit(db, request.client.host if request.client else "unknown", rule)
        try:
            return await verify.check_file(db, code, request.stream())
        except NotFound:  # raised before the body is read: the code may be an issued report's
            return await report_verify.check_file(db, code, request.stream())
