"""Replies of 1 KiB or more are gzipped (ISA-L) for callers that accept gzip; smaller ones, callers that do
not, and ranged or already-encoded replies go out as they are. Streamed replies are gzipped chunk by chunk."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litestar import Litestar, Response, get
from litestar.response import Stream

from backend.http.compression import gzip_responses
from tests.sync import clinic, phone


async def raw_get(client: Any, path: str, headers: dict[str, str]) -> httpx.Response:
    """The reply as it came over the wire (no decoding by the client)."""
    async with client.stream("GET", path, headers=headers) as reply:
        reply._raw = b"".join([chunk async for chunk in reply.aiter_raw()])  # noqa: SLF001 - test helper
    return reply


async def test_a_large_pull_is_gzipped_and_a_small_reply_is_not(client: Any, world: Any) -> None:
    p = await phone(client, world.expert_a.username)
    await p.push([p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id)) for _ in range(5)])
    pulled = await raw_get(client, "/api/v1/sync/pull", {**p.headers, "Accept-Encoding": "gzip"})
    assert pulled.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in pulled.headers["vary"]
    assert int(pulled.headers["content-length"]) == len(pulled._raw)  # noqa: SLF001
    page = json.loads(gzip.decompress(pulled._raw))  # noqa: SLF001
    assert len([c for c in page["changes"] if c["kind"] == "entry"]) == 5
    plain = await raw_get(client, "/api/v1/sync/pull", {**p.headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert json.loads(plain._raw)["changes"]  # noqa: SLF001
    small = await raw_get(client, "/api/v1/sync/config", {**p.headers, "Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    assert json.loads(small._raw)["protocol"] == "fieldlog-sync/1"  # noqa: SLF001


async def test_streamed_ranged_and_encoded_replies() -> None:
    text = b"fieldlog " * 4000
    packed = gzip.compress(text, mtime=0)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(text), 5000):
            yield text[i:i + 5000]

    @get("/stream", sync_to_thread=False)
    def stream() -> Stream:
        return Stream(chunks(), media_type="text/plain")

    @get("/ranged", sync_to_thread=False)
    def ranged() -> Response[bytes]:
        return Response(text, status_code=206, media_type="text/plain",
                        headers={"Content-Range": f"bytes 0-{len(text) - 1}/{len(text) * 2}"})

    @get("/encoded", sync_to_thread=False)
    def encoded() -> Response[bytes]:
        return Response(packed, media_type="text/plain", headers={"Content-Encoding": "gzip"})

    app = Litestar([stream, ranged, encoded], middleware=[gzip_responses(minimum_size=1024)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        streamed = await raw_get(c, "/stream", {"Accept-Encoding": "gzip"})
        assert streamed.headers["content-encoding"] == "gzip"
        assert gzip.decompress(streamed._raw) == text  # noqa: SLF001
        for path in ("/ranged", "/encoded"):
            reply = await raw_get(c, path, {"Accept-Encoding": "gzip"})
            assert reply._raw == (text if path == "/ranged" else packed), path  # noqa: SLF001
            assert reply.headers.get("content-encoding") == (None if path == "/ranged" else "gzip")
