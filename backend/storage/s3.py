"""Attachments on S3-compatible object storage (AWS S3, MinIO, Ceph, OSS) through boto3.

Phones upload straight to the store with presigned URLs: one PUT for a file that fits in one part, a multipart
upload otherwise (resumed by listing the parts already stored). boto3 is blocking, so every call runs in a
worker thread and never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from backend.storage.base import (
    ContentMismatch,
    PartTarget,
    UploadIncomplete,
    UploadPlan,
    check_type,
    content_disposition,
)
from backend.storage.signatures import HEAD_BYTES

PRESIGN_SECONDS = 3600
_HASH_CHUNK = 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchUpload", "NoSuchBucket"}


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3Storage:
    """Objects under `<prefix><key>` in one bucket."""

    kind = "s3"
    receives_bytes = False

    def __init__(self, client: Any, bucket: str, *, prefix: str = "", part_size: int = 8 * 1024 * 1024,
                 create_bucket: bool = False) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.create_bucket = create_bucket
        # The origin the presigned URLs point at: a browser uploading to them must be allowed to connect there.
        self.browser_origins: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> S3Storage:
        """Build the boto3 client (credentials from the usual AWS chain: env, profile, instance role)."""
        import boto3
        from botocore.config import Config

        # Path-style addressing: custom endpoints (MinIO, a test server) rarely resolve bucket subdomains.
        style = "path" if settings.s3_endpoint_url else "auto"
        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
                              config=Config(signature_version="s3v4", s3={"addressing_style": style},
                                            retries={"max_attempts": 3, "mode": "standard"}))
        return cls(client, settings.s3_bucket, prefix=settings.s3_prefix, part_size=settings.s3_part_size,
                   create_bucket=bool(settings.s3_endpoint_url))

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    async def _call(self, name: str, **params: Any) -> Any:
        return await asyncio.to_thread(getattr(self.client, name), **params)

    async def _presign(self, operation: str, **params: Any) -> str:
        return await asyncio.to_thread(self.client.generate_presigned_url, operation,
                                       Params={"Bucket": self.bucket, **params}, ExpiresIn=PRESIGN_SECONDS)

    async def start(self) -> None:
        try:
            await self._call("head_bucket", Bucket=self.bucket)
        except ClientError as exc:
            # Only a laptop or test store (custom endpoint) gets its bucket created; production ones are provisioned.
            if not (_missing(exc) and self.create_bucket):
                raise
            await self._call("create_bucket", Bucket=self.bucket)
        # Presigning is computed locally (no request): its scheme and host are where phones will upload.
        probe = urlsplit(await self._presign("put_object", Key=self._key("origin-probe")))
        self.browser_origins = (f"{probe.scheme}://{probe.netloc}",)

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)

    def _multipart(self, size: int) -> bool:
        return size > self.part_size

    async def _object_size(self, key: str) -> int | None:
        try:
            head = await self._call("head_object", Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return int(head["ContentLength"])

    async def _parts(self, key: str, upload_id: str) -> list[dict[str, Any]] | None:
        """Parts stored so far, or None when the multipart upload no longer exists (completed or aborted)."""
        parts: list[dict[str, Any]] = []
        marker = 0
        while True:
            try:
                page = await self._call("list_parts", Bucket=self.bucket, Key=self._key(key), UploadId=upload_id,
                                        PartNumberMarker=marker)
            except ClientError as exc:
                if _missing(exc):
                    return None
                raise
            parts += page.get("Parts", [])
            if not page.get("IsTruncated"):
                return parts
            marker = int(page["NextPartNumberMarker"])

    async def plan(self, key: str, size: int, content_type: str, upload_id: str | None) -> UploadPlan:
        expires = datetime.now(UTC) + timedelta(seconds=PRESIGN_SECONDS)
        if not self._multipart(size):
            received = await self._object_size(key) or 0
            parts = [] if received == size else [PartTarget(
                part_number=1, offset=0, size=size, headers={"Content-Type": content_type},
                url=await self._presign("put_object", Key=self._key(key), ContentType=content_type))]
            return UploadPlan(mode="presigned_put", received_bytes=received, parts=parts, expires_at=expires)
        done: dict[int, int] = {}
        stored = None if upload_id is None else await self._parts(key, upload_id)
        if stored is None:
            if upload_id is not None and await self._object_size(key) == size:
                return UploadPlan(mode="multipart", received_bytes=size, part_size=self.part_size)
            created = await self._call("create_multipart_upload", Bucket=self.bucket, Key=self._key(key),
                                       ContentType=content_type)
            upload_id = str(created["UploadId"])
        else:
            done = {int(p["PartNumber"]): int(p["Size"]) for p in stored}
        targets = []
        for number in range(1, math.ceil(size / self.part_size) + 1):
            offset = (number - 1) * self.part_size
            length = min(self.part_size, size - offset)
            if done.get(number) == length:
                continue
            url = await self._presign("upload_part", Key=self._key(key), UploadId=upload_id, PartNumber=number)
            targets.append(PartTarget(part_number=number, offset=offset, size=length, url=url))
        received = sum(done.values())
        return UploadPlan(mode="multipart", received_bytes=received, part_size=self.part_size, parts=targets,
                          upload_id=upload_id, expires_at=expires)

    async def received(self, key: str, size: int, upload_id: str | None) -> int:
        if self._multipart(size) and upload_id is not None:
            parts = await self._parts(key, upload_id)
            if parts is not None:
                return sum(int(p["Size"]) for p in parts)
        return await self._object_size(key) or 0

    async def append(self, key: str, offset: int, size: int, chunks: AsyncIterator[bytes]) -> int:
        raise NotImplementedError("S3 uploads go straight to the presigned URLs")

    async def finish(self, key: str, size: int, sha256: str, upload_id: str | None,
                     content_type: str | None = None) -> None:
        if self._multipart(size) and upload_id is not None:
            parts = await self._parts(key, upload_id)
            if parts is not None:
                stored = sum(int(p["Size"]) for p in parts)
                expected = math.ceil(size / self.part_size)
                if stored < size or len(parts) < expected:
                    raise UploadIncomplete(stored)
                await self._call("complete_multipart_upload", Bucket=self.bucket, Key=self._key(key),
                                 UploadId=upload_id, MultipartUpload={"Parts": [
                                     {"PartNumber": int(p["PartNumber"]), "ETag": p["ETag"]} for p in parts]})
        actual_size = await self._object_size(key)
        if actual_size is None:
            raise UploadIncomplete(0)
        if actual_size != size:
            await self.discard(key, None)
            raise ContentMismatch("size_mismatch", f"The stored object has {actual_size} bytes, not {size}")
        # S3 checksums are not implemented alike by every S3-compatible store, so the object is read back once.
        actual, head = await asyncio.to_thread(self._sha256_and_head, key)
        if actual != sha256:
            await self.discard(key, None)
            raise ContentMismatch("sha256_mismatch", f"The stored bytes hash to {actual}, not {sha256}")
        try:
            check_type(content_type, head)
        except ContentMismatch:
            # The row stays pending, so the object was never served; it goes so that no URL can reach it later.
            await self.discard(key, None)
            raise

    def _sha256_and_head(self, key: str) -> tuple[str, bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        digest = hashlib.sha256()
        head = b""
        try:
            for chunk in body.iter_chunks(_HASH_CHUNK):
                if len(head) < HEAD_BYTES:
                    head += chunk[:HEAD_BYTES - len(head)]
                digest.update(chunk)
        finally:
            body.close()
        return digest.hexdigest(), head

    async def discard(self, key: str, upload_id: str | None) -> None:
        if upload_id is not None:
            try:
                await self._call("abort_multipart_upload", Bucket=self.bucket, Key=self._key(key), UploadId=upload_id)
            except ClientError as exc:
                if not _missing(exc):
                    raise
        await self._call("delete_object", Bucket=self.bucket, Key=self._key(key))

    async def download_url(self, key: str, file_name: str, content_type: str) -> str | None:
        return await self._presign("get_object", Key=self._key(key), ResponseContentType=content_type,
                                   ResponseContentDisposition=content_disposition(file_name))

    def local_path(self, key: str) -> Path | None:
        return None
