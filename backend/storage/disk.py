"""Attachments on local disk: the API server receives the bytes itself, resumably (laptop and single node)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from backend.storage.base import (
    ContentMismatch,
    OffsetMismatch,
    TooManyBytes,
    UploadBusy,
    UploadIncomplete,
    UploadPlan,
    check_type,
)
from backend.storage.signatures import HEAD_BYTES

_FLUSH_BYTES = 256 * 1024
_HASH_CHUNK = 1024 * 1024


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _sha256_and_head(path: Path) -> tuple[str, bytes]:
    """The file's SHA-256 and its first bytes, in one pass."""
    digest = hashlib.sha256()
    head = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            if len(head) < HEAD_BYTES:
                head += chunk[:HEAD_BYTES - len(head)]
            digest.update(chunk)
    return digest.hexdigest(), head


class DiskStorage:
    """Bytes under `root/partial/<key>` while arriving and `root/objects/<key>` once verified.

    Writes of one upload are serialised by an in-process lock: the disk backend is for one node (a laptop or a
    small site); several API nodes share S3 instead.
    """

    kind = "disk"
    receives_bytes = True
    browser_origins: tuple[str, ...] = ()  # uploads come through the API, on the app's own origin

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    def _partial(self, key: str) -> Path:
        return self.root / "partial" / key

    def _final(self, key: str) -> Path:
        return self.root / "objects" / key

    async def start(self) -> None:
        for sub in ("partial", "objects"):
            await asyncio.to_thread((self.root / sub).mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    async def plan(self, key: str, size: int, content_type: str, upload_id: str | None) -> UploadPlan:
        return UploadPlan(mode="server", received_bytes=await self.received(key, size, upload_id))

    async def received(self, key: str, size: int, upload_id: str | None) -> int:
        def count() -> int:
            final = _size(self._final(key))
            return final if final is not None else (_size(self._partial(key)) or 0)

        return await asyncio.to_thread(count)

    async def append(self, key: str, offset: int, size: int, chunks: AsyncIterator[bytes]) -> int:
        lock = self._locks.setdefault(key, asyncio.Lock())
        if lock.locked():
            raise UploadBusy(key)
        async with lock:
            try:
                return await self._append_locked(key, offset, size, chunks)
            finally:
                self._locks.pop(key, None)

    async def _append_locked(self, key: str, offset: int, size: int, chunks: AsyncIterator[bytes]) -> int:
        path = self._partial(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        current = await asyncio.to_thread(lambda: _size(path) or 0)
        if offset != current:
            raise OffsetMismatch(current)
        fh: BinaryIO = await asyncio.to_thread(path.open, "ab")
        written = 0
        buffer = bytearray()
        try:
            async for chunk in chunks:
                if current + written + len(buffer) + len(chunk) > size:
                    buffer.clear()
                    await asyncio.to_thread(fh.truncate, offset)
                    written = 0
                    raise TooManyBytes(key)
                buffer += chunk
                if len(buffer) >= _FLUSH_BYTES:
                    await asyncio.to_thread(fh.write, bytes(buffer))
                    written += len(buffer)
                    buffer.clear()
        finally:
            # Whatever arrived before a dropped connection is kept: that is what the client resumes from.
            if buffer:
                await asyncio.to_thread(fh.write, bytes(buffer))
                written += len(buffer)
            await asyncio.to_thread(fh.close)
        return current + written

    async def finish(self, key: str, size: int, sha256: str, upload_id: str | None,
                     content_type: str | None = None) -> None:
        def verify() -> None:
            final, partial = self._final(key), self._partial(key)
            if final.exists():  # verified before (a completion whose answer was lost): check its type still
                with final.open("rb") as fh:
                    head = fh.read(HEAD_BYTES)
                try:
                    check_type(content_type, head)
                except ContentMismatch:
                    final.unlink(missing_ok=True)
                    raise
                return
            stored = _size(partial) or 0
            if stored < size:
                raise UploadIncomplete(stored)
            if stored > size:
                partial.unlink(missing_ok=True)
                raise ContentMismatch("size_mismatch", f"Received {stored} bytes, not the declared {size}")
            actual, head = _sha256_and_head(partial)
            if actual != sha256:
                partial.unlink(missing_ok=True)
                raise ContentMismatch("sha256_mismatch", f"The received bytes hash to {actual}, not {sha256}")
            try:
                check_type(content_type, head)
            except ContentMismatch:
                partial.unlink(missing_ok=True)  # never moved to objects/: nothing of it can be served
                raise
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, final)  # atomic: a reader never sees a half-verified file

        await asyncio.to_thread(verify)

    async def discard(self, key: str, upload_id: str | None) -> None:
        await asyncio.to_thread(self._partial(key).unlink, missing_ok=True)

    async def download_url(self, key: str, file_name: str, content_type: str) -> str | None:
        return None

    def local_path(self, key: str) -> Path | None:
        return self._final(key)
