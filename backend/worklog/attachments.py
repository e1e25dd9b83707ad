"""Use cases of attachments: declare a file, upload it resumably, complete it with a check, download it.

The storage backend is the truth about how many bytes have arrived (a dropped connection leaves the database
behind); the row records what was declared and whether the file was verified.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from sqlalchemy import exists, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, InvalidInput, NotFound
from backend.models import Attachment, Entry, EntryAttachment
from backend.scope import entry_scope
from backend.settings import Settings
from backend.storage.base import (
    ContentMismatch,
    OffsetMismatch,
    Storage,
    TooManyBytes,
    TypeMismatch,
    UploadBusy,
    UploadIncomplete,
    UploadPlan,
)
from backend.worklog.attachment_schemas import AttachmentCreate, AttachmentOut, UploadInstructions, UploadPart

BASE_PATH = "/api/v1/attachments"
_RANGE = re.compile(r"bytes ([0-9]{1,15})-([0-9]{1,15})/([0-9]{1,15})", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def storage_key(owner_id: uuid.UUID, sha256: str) -> str:
    # Per user, by content: the same photo sent twice by one expert is stored once.
    return f"{owner_id}/{sha256}"


def clean_file_name(raw: str) -> str:
    """The last path component without control characters (names are shown and sent back, never used as paths)."""
    name = _CONTROL.sub("", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name or "file"


def check_declaration(data: AttachmentCreate, settings: Settings) -> tuple[str, list[FieldError]]:
    """The normalised content type and every problem with a declared file (pure)."""
    errors: list[FieldError] = []
    content_type = data.content_type.split(";")[0].strip().lower()
    if content_type not in settings.attachment_types:
        errors.append(FieldError(field="content_type", code="unsupported_type",
                                 message=f"Files of type {content_type!r} are not accepted; send one of: "
                                         f"{', '.join(settings.attachment_types)}"))
    if data.size < 1:
        errors.append(FieldError(field="size", code="too_small", message="The file is empty"))
    elif data.size > settings.attachment_max_bytes:
        limit = settings.attachment_max_bytes
        errors.append(FieldError(field="size", code="too_large",
                                 message=f"Files may be at most {limit} bytes ({limit / 1048576:g} MiB)"))
    return content_type, errors


def parse_content_range(header: str | None, size: int) -> tuple[int, int]:
    """`Content-Range: bytes a-b/size` as (start, end exclusive); no header means the whole file (pure)."""
    if header is None or not header.strip():
        return 0, size
    match = _RANGE.fullmatch(header.strip())
    if not match:
        raise InvalidInput(errors=[FieldError(field="Content-Range", code="invalid_format",
                                              message="Send 'Content-Range: bytes <first>-<last>/<size>'")])
    first, last, total = (int(g) for g in match.groups())
    if total != size:
        raise InvalidInput(errors=[FieldError(field="Content-Range", code="size_mismatch",
                                              message=f"The total must be the declared size {size}, not {total}")])
    if last < first or last >= total:
        raise InvalidInput(errors=[FieldError(field="Content-Range", code="out_of_range",
                                              message=f"The range must lie inside 0-{size - 1}")])
    return first, last + 1


def _out(att: Attachment, received: int, plan: UploadPlan | None) -> AttachmentOut:
    upload = None
    if att.status != "complete" and plan is not None:
        base = f"{BASE_PATH}/{att.id}"
        upload = UploadInstructions(
            mode=plan.mode, url=f"{base}/content" if plan.mode == "server" else None,
            complete_url=f"{base}/complete", part_size=plan.part_size, expires_at=plan.expires_at,
            parts=[UploadPart(part_number=p.part_number, offset=p.offset, size=p.size, method=p.method, url=p.url,
                              headers=dict(p.headers)) for p in plan.parts])
    return AttachmentOut(id=att.id, sha256=att.sha256, size=att.size, content_type=att.content_type,
                         file_name=att.file_name, status=att.status,  # type: ignore[arg-type]
                         received_bytes=att.size if att.status == "complete" else received, upload=upload,
                         created_at=att.created_at, completed_at=att.completed_at)


async def _own(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID, *,
               lock: bool = False) -> Attachment:
    query = select(Attachment).where(Attachment.id == attachment_id, Attachment.owner_id == principal.user_id)
    att = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if att is None:
        raise NotFound("No such attachment")
    return att


async def _planned(session: AsyncSession, att: Attachment, storage: Storage) -> AttachmentOut:
    if att.status == "complete":
        return _out(att, att.size, None)
    plan = await storage.plan(att.storage_key, att.size, att.content_type, att.upload_id)
    if plan.upload_id != att.upload_id and plan.upload_id is not None:
        att.upload_id = plan.upload_id
    att.received_bytes = plan.received_bytes
    await session.flush()
    return _out(att, plan.received_bytes, plan)


async def declare(session: AsyncSession, principal: Principal, data: AttachmentCreate, settings: Settings,
                  storage: Storage) -> tuple[AttachmentOut, bool]:
    """Register a file and answer how to upload it; a file this user already stored answers `complete`."""
    content_type, errors = check_declaration(data, settings)
    if errors:
        raise InvalidInput(errors=errors)
    name = clean_file_name(data.file_name)
    inserted = await session.execute(
        insert(Attachment).values(id=uuid.uuid4(), owner_id=principal.user_id, sha256=data.sha256, size=data.size,
                                  content_type=content_type, file_name=name,
                                  storage_key=storage_key(principal.user_id, data.sha256), status="pending")
        .on_conflict_do_nothing(index_elements=[Attachment.owner_id, Attachment.sha256])
        .returning(Attachment.id))
    created = inserted.scalar_one_or_none() is not None
    att = (await session.execute(select(Attachment).where(Attachment.owner_id == principal.user_id,
                                                          Attachment.sha256 == data.sha256)
                                 .with_for_update().execution_options(populate_existing=True))).scalar_one()
    if att.status == "pending" and (att.size, att.content_type) != (data.size, content_type):
        # A pending upload declared differently before: its bytes belong to the old declaration.
        await storage.discard(att.storage_key, att.upload_id)
        att.size, att.content_type, att.upload_id = data.size, content_type, None
    if att.status == "pending":
        att.file_name = name
    return await _planned(session, att, storage), created


async def status(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID,
                 storage: Storage) -> AttachmentOut:
    """The owner's view: bytes stored so far and fresh instructions for the rest."""
    return await _planned(session, await _own(session, principal, attachment_id), storage)


async def receive(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID, content_range: str | None,
                  chunks: AsyncIterator[bytes], storage: Storage) -> AttachmentOut:
    """Store a byte range sent to the server (disk backend); the last byte triggers the check."""
    att = await _own(session, principal, attachment_id)
    if att.status == "complete":
        return _out(att, att.size, None)
    if not storage.receives_bytes:
        raise Conflict("Upload the bytes to the storage URLs this API gave you", extra={"reason": "direct_upload"})
    start, end = parse_content_range(content_range, att.size)
    key, size, sha, upload_id, declared = att.storage_key, att.size, att.sha256, att.upload_id, att.content_type
    # Release the pooled connection while bytes trickle in (minutes on a county 3G link); nothing is written yet.
    await session.rollback()
    try:
        received = await storage.append(key, start, end, chunks)
    except OffsetMismatch as exc:
        raise Conflict(f"Continue the upload at byte {exc.received}", headers={"Upload-Offset": str(exc.received)},
                       extra={"reason": "offset_mismatch", "received_bytes": exc.received}) from None
    except UploadBusy:
        raise Conflict("Another upload of this file is in progress", headers={"Retry-After": "5"},
                       extra={"reason": "upload_in_progress"}) from None
    except TooManyBytes:
        raise InvalidInput(errors=[FieldError(field="Content-Range", code="too_many_bytes",
                                              message="The body is longer than the range it declares")]) from None
    if received == size:
        await _finish(storage, key, size, sha, upload_id, declared)
        await session.execute(update(Attachment).where(Attachment.id == attachment_id)
                              .values(status="complete", received_bytes=size, completed_at=datetime.now(UTC)))
    else:
        await session.execute(update(Attachment).where(Attachment.id == attachment_id)
                              .values(received_bytes=received))
    att = await _own(session, principal, attachment_id)
    await session.refresh(att)
    return _out(att, received, UploadPlan(mode="server", received_bytes=received))


async def _finish(storage: Storage, key: str, size: int, sha256: str, upload_id: str | None,
                  content_type: str) -> None:
    try:
        await storage.finish(key, size, sha256, upload_id, content_type)
    except UploadIncomplete as exc:
        raise Conflict(f"Only {exc.received} of {size} bytes have arrived; send the rest first",
                       extra={"reason": "incomplete", "received_bytes": exc.received}) from None
    except TypeMismatch as exc:
        # The upload stays pending with nothing stored: declare the file again with its real type, then resend it.
        raise InvalidInput(f"{exc.detail}; the bytes were discarded. Declare the file with its real type and "
                           "upload it again",
                           errors=[FieldError(field="content_type", code=exc.reason, message=exc.detail)],
                           extra={"reason": exc.reason, "declared_type": exc.declared,
                                  "detected_type": exc.detected}) from None
    except ContentMismatch as exc:
        raise InvalidInput(f"{exc.detail}; the bytes were discarded, upload the file again",
                           errors=[FieldError(field="sha256" if exc.reason == "sha256_mismatch" else "size",
                                              code=exc.reason, message=exc.detail)],
                           extra={"reason": exc.reason}) from None


async def complete(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID,
                   storage: Storage) -> AttachmentOut:
    """Check size, SHA-256 and type of the stored bytes and mark the file complete (422 and discard on a mismatch)."""
    att = await _own(session, principal, attachment_id, lock=True)
    if att.status != "complete":
        await _finish(storage, att.storage_key, att.size, att.sha256, att.upload_id, att.content_type)
        att.status, att.received_bytes, att.completed_at = "complete", att.size, datetime.now(UTC)
        await session.flush()
    return _out(att, att.size, None)


async def upload_offset(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID,
                        storage: Storage) -> tuple[int, int]:
    """(bytes stored, declared size), for `HEAD .../content`."""
    att = await _own(session, principal, attachment_id)
    if att.status == "complete":
        return att.size, att.size
    return await storage.received(att.storage_key, att.size, att.upload_id), att.size


class DownloadTarget(msgspec.Struct, kw_only=True, frozen=True):
    url: str | None
    path: Path | None
    file_name: str
    content_type: str


async def download(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID,
                   storage: Storage) -> DownloadTarget:
    """A complete file for its owner, for whoever may read an entry that names it, or for an admin."""
    linked = exists().where(EntryAttachment.sha256 == Attachment.sha256, Entry.id == EntryAttachment.entry_id,
                            Entry.expert_id == Attachment.owner_id, Entry.deleted_at.is_(None),
                            entry_scope(principal))
    visible = true() if principal.is_admin else or_(Attachment.owner_id == principal.user_id, linked)
    att = (await session.execute(select(Attachment).where(Attachment.id == attachment_id, visible)))\
        .scalar_one_or_none()
    if att is None:
        raise NotFound("No such attachment")
    if att.status != "complete":
        raise Conflict("The file has not been uploaded completely yet", extra={"reason": "not_uploaded"})
    url = await storage.download_url(att.storage_key, att.file_name, att.content_type)
    return DownloadTarget(url=url, path=None if url else storage.local_path(att.storage_key),
                          file_name=att.file_name, content_type=att.content_type)
