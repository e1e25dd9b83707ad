"""Both storage backends: an upload goes up, is interrupted, resumes and verifies; a wrong file is discarded.

The S3 backend runs against moto in server mode over real HTTP (boto3 with endpoint_url), the disk backend in a
temporary folder.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.storage.base import ContentMismatch, OffsetMismatch, Storage, TypeMismatch, UploadIncomplete
from backend.storage.disk import DiskStorage
from backend.storage.s3 import S3Storage

MiB = 1024 * 1024
PART = 5 * MiB  # the smallest part S3 (and moto) accepts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An S3-compatible server on a free local port for the whole session."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


class OffLoopClient:
    """A boto3 client that fails any call made on the event loop's thread (it would stall every request)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return attr(*args, **kwargs)
            raise AssertionError(f"boto3 {name} called on the event loop")

        return guarded


def make_s3(endpoint: str, *, part_size: int = PART) -> S3Storage:
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing",  # noqa: S106
                          config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    return S3Storage(OffLoopClient(client), f"fieldlog-{uuid.uuid4().hex[:12]}", prefix="att/", part_size=part_size,
                     create_bucket=True)


@pytest.fixture(params=["disk", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    store: Storage = DiskStorage(tmp_path) if request.param == "disk" else make_s3(
        request.getfixturevalue("moto_endpoint"))
    await store.start()
    yield store
    await store.close()


def payload(size: int, seed: int = 1, *, magic: bytes = b"\xff\xd8\xff\xe0") -> tuple[bytes, str]:
    """`size` bytes that begin as a JPEG does (`magic`), so the type check at completion accepts them."""
    data = (magic + hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1))[:size]
    return data, hashlib.sha256(data).hexdigest()


async def _chunks(data: bytes, *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    step = 64 * 1024
    for start in range(0, len(data), step):
        if fail_after is not None and start >= fail_after:
            raise ConnectionResetError("the phone lost its network")
        yield data[start:start + step]


async def send(store: Storage, key: str, data: bytes, content_type: str, upload_id: str | None, *,
               stop_after_parts: int | None = None) -> str | None:
    """Send whatever the plan says is missing (a client), optionally stopping early; returns the upload id."""
    plan = await store.plan(key, len(data), content_type, upload_id)
    if plan.mode == "server":
        await store.append(key, plan.received_bytes, len(data), _chunks(data[plan.received_bytes:]))
        return plan.upload_id
    async with httpx.AsyncClient() as http:
        for i, part in enumerate(plan.parts):
            if stop_after_parts is not None and i >= stop_after_parts:
                break
            r = await http.request(part.method, part.url, headers=part.headers,
                                   content=data[part.offset:part.offset + part.size])
            assert r.status_code == 200, r.text
    return plan.upload_id


async def test_small_file_is_interrupted_resumed_and_verified(storage: Storage) -> None:
    data, sha = payload(300 * 1024)
    key = f"{uuid.uuid4()}/{sha}"
    if storage.receives_bytes:
        with pytest.raises(ConnectionResetError):
            await storage.append(key, 0, len(data), _chunks(data, fail_after=128 * 1024))
        # Bytes that arrived before the drop are kept; the client asks and sends the rest.
        assert await storage.received(key, len(data), None) == 128 * 1024
        with pytest.raises(OffsetMismatch):
            await storage.append(key, 0, len(data), _chunks(data))
    else:
        # A presigned single PUT is all or nothing: an interrupted one stores nothing and is sent again.
        assert (await storage.plan(key, len(data), "image/jpeg", None)).received_bytes == 0
    with pytest.raises(UploadIncomplete):
        await storage.finish(key, len(data), sha, None)
    upload_id = await send(storage, key, data, "image/jpeg", None)
    await storage.finish(key, len(data), sha, upload_id)
    assert await storage.received(key, len(data), upload_id) == len(data)
    # Finishing again (a lost reply) is harmless.
    await storage.finish(key, len(data), sha, upload_id)


async def test_large_file_resumes_by_parts(storage: Storage) -> None:
    data, sha = payload(2 * PART + 1000, seed=2)
    key = f"{uuid.uuid4()}/{sha}"
    if storage.receives_bytes:
        with pytest.raises(ConnectionResetError):
            await storage.append(key, 0, len(data), _chunks(data, fail_after=PART))
        upload_id = None
    else:
        upload_id = await send(storage, key, data, "application/pdf", None, stop_after_parts=1)
        plan = await storage.plan(key, len(data), "application/pdf", upload_id)
        assert plan.mode == "multipart"
        assert plan.upload_id == upload_id
        assert [p.part_number for p in plan.parts] == [2, 3]
    assert await storage.received(key, len(data), upload_id) == PART
    with pytest.raises(UploadIncomplete):
        await storage.finish(key, len(data), sha, upload_id)
    await send(storage, key, data, "application/pdf", upload_id)
    await storage.finish(key, len(data), sha, upload_id)


async def test_wrong_bytes_are_refused_and_discarded(storage: Storage) -> None:
    data, sha = payload(200 * 1024, seed=3)
    wrong, _ = payload(200 * 1024, seed=4)
    key = f"{uuid.uuid4()}/{sha}"
    upload_id = await send(storage, key, wrong, "image/png", None)
    with pytest.raises(ContentMismatch) as caught:
        await storage.finish(key, len(data), sha, upload_id)
    assert caught.value.reason == "sha256_mismatch"
    assert await storage.received(key, len(data), upload_id) == 0
    upload_id = await send(storage, key, data, "image/png", None)
    await storage.finish(key, len(data), sha, upload_id)


HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize("size", [4096, PART + 1000])  # one PUT, and (on S3) a multipart upload
async def test_a_file_of_another_type_is_refused_and_nothing_of_it_stays(storage: Storage, size: int) -> None:
    data, sha = payload(size, seed=6, magic=HTML)
    key = f"{uuid.uuid4()}/{sha}"
    upload_id = await send(storage, key, data, "image/png", None)
    with pytest.raises(TypeMismatch) as caught:
        await storage.finish(key, len(data), sha, upload_id, "image/png")
    assert (caught.value.reason, caught.value.declared, caught.value.detected) == (
        "content_mismatch", "image/png", "text/html")
    assert await storage.received(key, len(data), None) == 0
    local = storage.local_path(key)
    assert local is None or not local.exists()
    # A real PNG declared as one completes.
    png, png_sha = payload(size, seed=7, magic=b"\x89PNG\r\n\x1a\n")
    png_key = f"{uuid.uuid4()}/{png_sha}"
    await storage.finish(png_key, len(png), png_sha, await send(storage, png_key, png, "image/png", None), "image/png")
    assert await storage.received(png_key, len(png), None) == len(png)


async def test_download_gives_the_same_bytes(storage: Storage) -> None:
    data, sha = payload(10 * 1024, seed=5)
    key = f"{uuid.uuid4()}/{sha}"
    await storage.finish(key, len(data), sha, await send(storage, key, data, "image/jpeg", None))
    url = await storage.download_url(key, "签到表.jpg", "image/jpeg")
    if url is None:
        path = storage.local_path(key)
        assert path is not None
        assert path.read_bytes() == data
        return
    async with httpx.AsyncClient() as http:
        r = await http.get(url)
    assert r.content == data
    assert r.headers["content-type"] == "image/jpeg"
    assert "filename*=UTF-8''%E7%AD%BE" in r.headers["content-disposition"]


async def test_disk_refuses_more_bytes_than_declared(tmp_path: Path) -> None:
    from backend.storage.base import TooManyBytes

    store = DiskStorage(tmp_path)
    await store.start()
    data, _ = payload(1000)
    with pytest.raises(TooManyBytes):
        await store.append("u/x", 0, 500, _chunks(data))
    assert await store.received("u/x", 500, None) == 0


async def test_settings_choose_and_start_the_backend(moto_endpoint: str, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from backend.settings import load_settings
    from backend.storage import EXTRA_KEY, start_storage, stop_storage

    env = {"FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_STORAGE": "s3", "FIELDLOG_S3_BUCKET": "fieldlog-boot",
           "FIELDLOG_S3_ENDPOINT_URL": moto_endpoint, "FIELDLOG_S3_PREFIX": "p/"}
    runtime = SimpleNamespace(settings=load_settings(env), extras={})
    await start_storage(runtime)  # creates the bucket on a custom endpoint (a laptop or test store)
    assert isinstance(runtime.extras[EXTRA_KEY], S3Storage)
    await stop_storage(runtime)
    runtime = SimpleNamespace(settings=load_settings({"FIELDLOG_DATA_DIR": str(tmp_path)}), extras={})
    await start_storage(runtime)
    assert isinstance(runtime.extras[EXTRA_KEY], DiskStorage)
    assert (tmp_path / "files" / "objects").is_dir()
