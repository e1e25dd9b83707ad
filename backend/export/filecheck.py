"""Is this file the document that was issued under this code? The public check behind the verify page's
upload box: SHA-256 of the bytes sent, compared with the files stored at issue time.

The answer repeats only what the verify page already shows (the code, the issued files' names and
fingerprints) plus the fingerprint of what was sent; never who sent what or any content of the file.
Bounded: the body is hashed as it streams in and refused past MAX_CHECK_BYTES, and each address gets
CHECKS_PER_WINDOW checks per WINDOW_SECONDS on a node (429 with Retry-After past that).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import FieldError, InvalidInput, PayloadTooLarge, TooManyRequests
from backend.export import verify
from backend.export.schemas import VerifiedFile

MAX_CHECK_BYTES = 32 * 1024 * 1024
CHECKS_PER_WINDOW = 30
WINDOW_SECONDS = 60.0
_MAX_TRACKED = 10_000


class FileCheck(msgspec.Struct, kw_only=True):
    """The verdict on one uploaded file."""

    verification_code: str
    matches: bool
    sha256: str
    size: int
    # The issued file it is, when it matches.
    matched: VerifiedFile | None
    issued: list[VerifiedFile]


class CheckWindow:
    """Sliding-window count of checks per client address, in this process."""

    def __init__(self, limit: int = CHECKS_PER_WINDOW, window: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def admit(self, address: str, now: float | None = None) -> None:
        """Count one check for `address`, or raise TooManyRequests with the seconds to wait."""
        now = time.monotonic() if now is None else now
        if len(self._seen) > _MAX_TRACKED:
            self._seen = {a: q for a, q in self._seen.items() if q and q[-1] > now - self.window}
        stamps = self._seen.setdefault(address, deque())
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if len(stamps) >= self.limit:
            wait = max(1, math.ceil(stamps[0] + self.window - now))
            raise TooManyRequests(
                f"At most {self.limit} file checks per {int(self.window)} seconds; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        stamps.append(now)


async def _digest(chunks: AsyncIterator[bytes], limit: int) -> tuple[str, int]:
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
    sha256, size = await _digest(chunks, limit)
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
