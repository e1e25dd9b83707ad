"""Is this file the document that was issued under this code? The public check behind the verify page's
upload box: SHA-256 of the bytes sent, compared with the files stored at issue time.

The answer repeats only what the verify page already shows (the code, the issued files' names and
fingerprints) plus the fingerprint of what was sent; never who sent what or any content of the file.
Bounded: the body is hashed as it streams in and refused past MAX_CHECK_BYTES, and each address gets
CHECKS_PER_WINDOW checks per WINDOW_SECONDS, counted in PostgreSQL across all API nodes (429 with
Retry-After past that), before its body is read.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import FieldError, InvalidInput, PayloadTooLarge, TooManyRequests
from backend.export import verify
from backend.export.schemas import VerifiedFile
from backend.models import VerifyCheck

MAX_CHECK_BYTES = 32 * 1024 * 1024
CHECKS_PER_WINDOW = 30
WINDOW_SECONDS = 60.0


class FileCheck(msgspec.Struct, kw_only=True):
    """The verdict on one uploaded file."""

    verification_code: str
    matches: bool
    sha256: str
    size: int
    # The issued file it is, when it matches.
    matched: VerifiedFile | None
    issued: list[VerifiedFile]


class CheckLimit(msgspec.Struct, kw_only=True, frozen=True):
    """How many file checks an address may make per window, counted in PostgreSQL (all API nodes together)."""

    limit: int = CHECKS_PER_WINDOW
    window: float = WINDOW_SECONDS


async def admit(
    session: AsyncSession, address: str, rule: CheckLimit = CheckLimit(), now: datetime | None = None
) -> None:
    """Count one check for `address` (committed by the request), or raise TooManyRequests with the wait."""
    now = now or datetime.now(UTC)
    since = now - timedelta(seconds=rule.window)
    # Old counts are of no use to anyone: each check clears what fell out of the window (indexed on `at`).
    await session.execute(delete(VerifyCheck).where(VerifyCheck.at <= since))
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(VerifyCheck.at)).where(
                VerifyCheck.address == address[:64], VerifyCheck.at > since
            )
        )
    ).one()
    if count >= rule.limit:
        wait = max(1, math.ceil((oldest - since).total_seconds()))
        raise TooManyRequests(
            f"At most {rule.limit} file checks per {int(rule.window)} seconds; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    await session.execute(insert(VerifyCheck).values(address=address[:64], at=now))
    await session.commit()


async def digest(chunks: AsyncIterator[bytes], limit: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"A document is at most {limit} bytes; this file is larger")
        digest.update(chunk)
    return digest.hexdigest(), size


async def check_file(
    session: AsyncSession, raw_code: str, chunks: AsyncIterator[bytes], *, limit: int = MAX_CHECK_BYTES
) -> FileCheck:
    """Compare the streamed file with what was issued under the code (404 for an unknown code)."""
    view = await verify.lookup(session, raw_code)
    sha256, size = await digest(chunks, limit)
    if size == 0:
        raise InvalidInput(errors=[FieldError(field="body", code="empty", message="Send the file's bytes")])
    matched = next((f for f in view.files if f.sha256 == sha256 and f.size == size), None)
    return FileCheck(
        verification_code=view.verification_code,
        matches=matched is not None,
        sha256=sha256,
        size=size,
        matched=matched,
        issued=view.files,
    )
