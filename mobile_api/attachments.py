"""Attachments: declare by SHA-256, upload resumably (to this server or straight to S3), complete, download."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, head, post, put
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter
from litestar.response import File, Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import ServiceUnavailable
from backend.http.deps import requires_role
from backend.http.problems import problem_responses
from backend.runtime import Runtime
from backend.storage import storage_of
from backend.storage.base import Storage, content_disposition
from backend.worklog import attachments as service
from backend.worklog.attachment_schemas import AttachmentCreate, AttachmentOut


async def provide_storage(runtime: NamedDependency[Runtime]) -> Storage:
    return storage_of(runtime)


UploadOffsetHeaders = {"Upload-Offset": "bytes stored so far", "Upload-Length": "declared size"}


class AttachmentController(Controller):
    path = "/api/v1/attachments"
    tags = ["attachments"]
    dependencies = {"storage": Provide(provide_storage)}

    @post("", operation_id="declare_attachment", status_code=201,
                       summary="Declare a file by SHA-256 and get upload instructions",
                       description="201 when new; 200 when this user already declared the same hash (status "
                                   "`complete` means it is stored and needs no upload).",
                       responses={200: ResponseSpec(AttachmentOut, description="Already declared by this user"),
                                  **problem_responses(400, 401, 403, 413, 415, 422)})
    async def declare(self, data: AttachmentCreate, db: AsyncSession, principal: Principal, runtime: Runtime,
                      storage: Storage) -> Response[AttachmentOut]:
        requires_role(principal, "expert")
        out, created = await service.declare(db, principal, data, runtime.settings, storage)
        return Response(content=out, status_code=201 if created else 200)

    @get("/{attachment_id:uuid}", operation_id="get_attachment",
         summary="Upload state: bytes stored and fresh instructions for the rest", responses=problem_responses(401, 404))
    async def status(self, attachment_id: uuid.UUID, db: AsyncSession, principal: Principal,
                     storage: Storage) -> AttachmentOut:
        return await service.status(db, principal, attachment_id, storage)

    @head("/{attachment_id:uuid}/content", operation_id="get_upload_offset",
          summary="How many bytes the server holds (header Upload-Offset)", responses=problem_responses(401, 404))
    async def offset(self, attachment_id: uuid.UUID, db: AsyncSession, principal: Principal,
                     storage: Storage) -> Response[None]:
        received, size = await service.upload_offset(db, principal, attachment_id, storage)
        return Response(content=None, headers={"Upload-Offset": str(received), "Upload-Length": str(size),
                                               "Cache-Control": "no-store"})

    # The body limit is the declared file size, enforced while streaming, not the JSON body limit.
    @put("/{attachment_id:uuid}/content", operation_id="upload_attachment_content", request_max_body_size=None,
         summary="Send bytes to the server (disk storage), resumable with Content-Range",
         description="Send `Content-Range: bytes <first>-<last>/<size>` starting at the stored count; after a "
                     "dropped connection ask HEAD for Upload-Offset and send the rest. The last byte triggers the "
                     "size, SHA-256 and type check (422 and the bytes are discarded on a mismatch; "
                     "`content_mismatch` when the first bytes are not of the declared type).",
         responses=problem_responses(400, 401, 404, 409, 422))
    async def content(self, attachment_id: uuid.UUID, request: Request[Any, Any, Any], db: AsyncSession,
                      principal: Principal, storage: Storage,
                      content_range: Annotated[str | None, HeaderParameter(name="Content-Range", required=False,
                                                                           max_length=100)] = None,
                      ) -> AttachmentOut:
        return await service.receive(db, principal, attachment_id, content_range, request.stream(), storage)

    @post("/{attachment_id:uuid}/complete", operation_id="complete_attachment", status_code=200,
          summary="Check the stored bytes (size, SHA-256, type by their first bytes) and mark the file complete",
          responses=problem_responses(401, 404, 409, 422))
    async def complete(self, attachment_id: uuid.UUID, db: AsyncSession, principal: Principal,
                       storage: Storage) -> AttachmentOut:
        return await service.complete(db, principal, attachment_id, storage)

    @get("/{attachment_id:uuid}/download", operation_id="download_attachment",
         summary="The file: a redirect to a short-lived URL (S3) or the bytes (disk)",
         description="For the owner, supervisors of an entry's hospital, HR of the expert's home hospital, admin.",
         responses=problem_responses(401, 404, 409))
    async def download(self, attachment_id: uuid.UUID, db: AsyncSession, principal: Principal,
                       storage: Storage) -> Response[Any]:
        target = await service.download(db, principal, attachment_id, storage)
        if target.url:
            return Redirect(path=target.url, status_code=302, headers={"Cache-Control": "no-store"})
        if target.path is None:
            raise ServiceUnavailable("The file cannot be read right now")
        return File(path=target.path, media_type=target.content_type, filename=target.file_name,
                    headers={"Content-Disposition": content_disposition(target.file_name),
                             "Cache-Control": "private, no-store"})
