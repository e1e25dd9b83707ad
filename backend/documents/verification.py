"""What every public verify page shares (evidence exports in backend/export/verify.py, issued reports in
backend/reports/verify_page.py): the page style, the issued-file type, and the file check behind the page's
upload box ("is this file the document that was issued under this code?": SHA-256 of the bytes sent, compared
with the files registered at issue time).

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
from typing import Literal

import msgspec
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import PayloadTooLarge, TooManyRequests
from backend.models import VerifyCheck

MAX_CHECK_BYTES = 32 * 1024 * 1024
CHECKS_PER_WINDOW = 30
WINDOW_SECONDS = 60.0
STYLE = (  # inline in each verify page, the same for evidence and reports
    "body{font-family:'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;max-width:760px;margin:2em auto;"
    "padding:0 1em;color:#222}table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3;width:35%}code{font-size:.85em;word-break:break-all}.ok{color:#176f2c}"
    ".bad{color:#a61b1b}#drop{border:2px dashed #999;border-radius:6px;padding:1.5em;text-align:center;"
    "margin:.5em 0}#drop.over{border-color:#176f2c;background:#f0f8f2}#result{font-weight:bold;min-height:1.5em}"
)


class VerifiedFile(msgspec.Struct, kw_only=True):
    """One issued file as its verify page lists it: what a received copy is compared with."""

    format: Literal["pdf", "xlsx", "csv"]
    file_name: str
    size: int
    sha256: str


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
