"""Wire types of attachments: declaring a file, the upload instructions, and its state."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from backend.worklog.schemas import Sha256


class AttachmentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A file the phone is about to upload, named by its SHA-256 (hex, lower case)."""

    sha256: Sha256
    size: int
    content_type: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    file_name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class UploadPart(msgspec.Struct, kw_only=True):
    """One byte range to send: `method` the bytes `[offset, offset + size)` to `url` with `headers`."""

    part_number: int
    offset: int
    size: int
    method: str
    url: str
    headers: dict[str, str]


class UploadInstructions(msgspec.Struct, kw_only=True):
    """How to send the rest of the file.

    - `server`: PUT the bytes to `url` (this API) with `Content-Range: bytes <from>-<to>/<size>`, starting at
      `received_bytes`; ask `HEAD url` (header `Upload-Offset`) after a dropped connection and send the rest.
    - `presigned_put`: PUT the whole file to `parts[0].url`; then POST `complete_url`.
    - `multipart`: PUT each listed part to its URL (parts already stored are left out); then POST
      `complete_url`. After a dropped connection, GET the attachment again for fresh URLs of missing parts.
    """

    mode: Literal["server", "presigned_put", "multipart"]
    url: str | None
    complete_url: str
    part_size: int | None
    parts: list[UploadPart]
    expires_at: datetime | None


class AttachmentOut(msgspec.Struct, kw_only=True):
    """A file's state; `upload` is null once it is complete (the same file is stored once per user)."""

    id: uuid.UUID
    sha256: str
    size: int
    content_type: str
    file_name: str
    status: Literal["pending", "complete"]
    received_bytes: int
    upload: UploadInstructions | None
    created_at: datetime
    completed_at: datetime | None
