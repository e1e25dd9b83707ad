"""The storage interface attachments are written through, whichever backend holds the bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import msgspec

from backend.storage.signatures import mismatch

UploadMode = Literal["server", "presigned_put", "multipart"]


class StorageError(Exception):
    """Base of the outcomes a backend reports on purpose; the attachment service maps them to problems."""


class UploadIncomplete(StorageError):
    """Completion was asked for before every byte arrived."""

    def __init__(self, received: int) -> None:
        super().__init__(f"only {received} bytes received")
        self.received = received


class ContentMismatch(StorageError):
    """The stored bytes are not the declared file (size or SHA-256); they have been discarded."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class TypeMismatch(ContentMismatch):
    """The stored bytes are not of the declared type (backend/storage/signatures.py); they have been discarded."""

    def __init__(self, declared: str, detected: str) -> None:
        super().__init__("content_mismatch", f"The file is not {declared}: its first bytes are those of {detected}"
                         if detected != "unknown" else f"The file is not {declared}: its first bytes match no "
                         "known file type")
        self.declared = declared
        self.detected = detected


def check_type(declared: str | None, head: bytes) -> None:
    """Raise TypeMismatch when the first bytes are not of the declared type (None: not checked)."""
    if declared is None:
        return
    detected = mismatch(declared, head)
    if detected is not None:
        raise TypeMismatch(declared, detected)


class OffsetMismatch(StorageError):
    """A resumed upload did not start where the stored bytes end."""

    def __init__(self, received: int) -> None:
        super().__init__(f"upload must continue at byte {received}")
        self.received = received


class TooManyBytes(StorageError):
    """More bytes arrived than the declared size allows; this request's bytes were dropped."""


class UploadBusy(StorageError):
    """Another request is writing the same upload right now."""


class PartTarget(msgspec.Struct, kw_only=True, frozen=True):
    """Where to send one byte range: a presigned URL the phone PUTs to directly."""

    part_number: int
    offset: int
    size: int
    url: str
    method: str = "PUT"
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class UploadPlan(msgspec.Struct, kw_only=True, frozen=True):
    """How the rest of a file gets to storage; `upload_id` is the backend's handle to remember (multipart)."""

    mode: UploadMode
    received_bytes: int
    part_size: int | None = None
    parts: list[PartTarget] = msgspec.field(default_factory=list)
    upload_id: str | None = None
    expires_at: datetime | None = None


@runtime_checkable
class Storage(Protocol):
    """A place for attachment bytes. Keys are opaque `owner/sha256` strings chosen by the service."""

    kind: str
    # True when the API server itself receives the bytes (PUT .../content); False when clients go direct.
    receives_bytes: bool
    # Origins (scheme://host[:port]) browsers upload to directly; the pages' Content-Security-Policy allows them.
    browser_origins: tuple[str, ...]

    async def start(self) -> None:
        """Check the backend is reachable once at start-up (creating what a laptop run needs)."""

    async def close(self) -> None:
        """Release clients and connections."""

    async def plan(self, key: str, size: int, content_type: str, upload_id: str | None) -> UploadPlan:
        """Begin or resume an upload: how many bytes are stored and where to send the rest."""

    async def received(self, key: str, size: int, upload_id: str | None) -> int:
        """How many bytes of the file are stored (contiguous from the start for resumable backends)."""

    async def append(self, key: str, offset: int, size: int, chunks: AsyncIterator[bytes]) -> int:
        """Write bytes at `offset` (must equal the stored count) up to `size`; returns the new stored count.

        Bytes written before the stream fails stay stored, which is what makes an interrupted upload resume.
        """

    async def finish(self, key: str, size: int, sha256: str, upload_id: str | None,
                     content_type: str | None = None) -> None:
        """Make the upload final and check its size, SHA-256 and (if given) that its first bytes are of that type.

        A mismatch discards the bytes (ContentMismatch, TypeMismatch for the type).
        """

    async def discard(self, key: str, upload_id: str | None) -> None:
        """Forget a pending upload's bytes."""

    async def download_url(self, key: str, file_name: str, content_type: str) -> str | None:
        """A short-lived URL the client may fetch directly, or None when the server streams the file."""

    def local_path(self, key: str) -> Path | None:
        """The file of a complete upload on local disk, or None for remote backends."""


def content_disposition(file_name: str) -> str:
    """An attachment disposition that survives Chinese file names (RFC 6266 / RFC 5987)."""
    from urllib.parse import quote

    ascii_name = file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"
