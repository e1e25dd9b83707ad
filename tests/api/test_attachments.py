"""Attachments over HTTP on both backends: declare, upload, drop, resume, verify, dedupe, download in scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.storage import EXTRA_KEY
from tests.api.test_auth import problem
from tests.api.test_entries import create, entry_body
from tests.factories import World
from tests.integration.test_storage import PART, make_s3, moto_endpoint, payload

__all__ = ["moto_endpoint"]  # the session fixture, shared with the storage tests


@pytest.fixture(params=["disk", "s3"])
async def backend(request: pytest.FixtureRequest, client: Any) -> AsyncIterator[str]:
    """Run the test against the app's disk storage, or with the app's storage swapped for S3 (moto)."""
    runtime = client.app.state["runtime"]
    original = runtime.extras[EXTRA_KEY]
    if request.param == "s3":
        store = make_s3(request.getfixturevalue("moto_endpoint"))
        await store.start()
        runtime.extras[EXTRA_KEY] = store
    try:
        yield str(request.param)
    finally:
        runtime.extras[EXTRA_KEY] = original


def declaration(data: bytes, sha: str, **overrides: Any) -> dict[str, Any]:
    return {"sha256": sha, "size": len(data), "content_type": "image/jpeg", "file_name": "签到表.jpg", **overrides}


async def declare(client: Any, world: World, data: bytes, sha: str, who: str = "expert_a", **kw: Any) -> Any:
    return await client.post("/api/v1/attachments", json=declaration(data, sha, **kw),
                             headers=await world.headers(client, who))


async def upload(client: Any, world: World, att: dict[str, Any], data: bytes, *, upto: int | None = None,
                 who: str = "expert_a") -> dict[str, Any]:
    """Send what the instructions ask for, stopping at byte `upto` (a dropped connection); returns the state."""
    headers = await world.headers(client, who)
    up = att["upload"]
    end = len(data) if upto is None else upto
    if up["mode"] == "server":
        start = att["received_bytes"]
        r = await client.put(up["url"], content=data[start:end],
                             headers={**headers, "Content-Range": f"bytes {start}-{end - 1}/{len(data)}",
                                      "Content-Type": "application/octet-stream"})
        assert r.status_code in (200, 422), r.text
        return dict(r.json())
    async with httpx.AsyncClient() as http:
        for part in up["parts"]:
            if part["offset"] + part["size"] > end:
                break
            r = await http.put(part["url"], headers=part["headers"],
                               content=data[part["offset"]:part["offset"] + part["size"]])
            assert r.status_code == 200, r.text
    return dict((await client.get(f"/api/v1/attachments/{att['id']}", headers=headers)).json())


async def test_upload_is_interrupted_resumed_and_verified(client: Any, world: World, backend: str) -> None:
    data, sha = payload(PART + 1000, seed=11)
    headers = await world.headers(client, "expert_a")
    # The entry may arrive before its file; it says which file is missing.
    entry = (await create(client, world, entry_body(world, attachments=[sha]))).json()
    assert entry["missing_attachments"] == [sha]
    first = await declare(client, world, data, sha)
    assert first.status_code == 201, first.text
    att = first.json()
    assert att["status"] == "pending"
    assert att["upload"]["mode"] == ("server" if backend == "disk" else "multipart")
    state = await upload(client, world, att, data, upto=PART)
    assert state["received_bytes"] == PART
    if backend == "disk":
        head = await client.head(att["upload"]["url"], headers=headers)
        assert head.headers["upload-offset"] == str(PART)
    early = problem(await client.post(att["upload"]["complete_url"], headers=headers), 409)
    assert early["reason"] == "incomplete"
    # Resume: ask again, send the rest.
    again = await declare(client, world, data, sha)
    assert again.status_code == 200
    resumed = again.json()
    assert resumed["id"] == att["id"]
    assert resumed["received_bytes"] == PART
    if backend == "s3":
        assert [p["part_number"] for p in resumed["upload"]["parts"]] == [2]
    state = await upload(client, world, resumed, data)
    if backend == "s3":
        done = await client.post(att["upload"]["complete_url"], headers=headers)
        assert done.status_code == 200, done.text
        state = done.json()
    assert state["status"] == "complete"
    assert state["upload"] is None
    # Stored once: declaring the same file again says it is already complete.
    dup = (await declare(client, world, data, sha, file_name="again.jpg")).json()
    assert dup["status"] == "complete"
    assert dup["upload"] is None
    assert dup["id"] == att["id"]
    fresh = (await client.get(f"/api/v1/entries/{entry['id']}", headers=headers)).json()
    assert fresh["missing_attachments"] == []
    got = await client.get(f"/api/v1/attachments/{att['id']}/download", headers=headers, follow_redirects=False)
    if backend == "disk":
        assert got.status_code == 200
        assert got.content == data
    else:
        assert got.status_code == 302
        async with httpx.AsyncClient() as http:
            assert (await http.get(got.headers["location"])).content == data


async def test_a_wrong_file_is_refused_and_discarded(client: Any, world: World, backend: str) -> None:
    data, sha = payload(4096, seed=12)
    wrong, _ = payload(4096, seed=13)
    headers = await world.headers(client, "expert_a")
    att = (await declare(client, world, data, sha)).json()
    state = await upload(client, world, att, wrong)
    if backend == "s3":
        state = problem(await client.post(att["upload"]["complete_url"], headers=headers), 422)
    else:
        assert state["status"] == 422
    assert state["errors"][0]["field"] == "sha256"
    assert state["errors"][0]["code"] == "sha256_mismatch"
    after = (await client.get(f"/api/v1/attachments/{att['id']}", headers=headers)).json()
    assert after["status"] == "pending"
    assert after["received_bytes"] == 0
    state = await upload(client, world, after, data)
    if backend == "s3":
        state = (await client.post(att["upload"]["complete_url"], headers=headers)).json()
    assert state["status"] == "complete"


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"content_type": "application/x-msdownload"}, "content_type", "unsupported_type"),
    ({"size": 21 * 1024 * 1024}, "size", "too_large"),
    ({"size": 0}, "size", "too_small"),
    ({"sha256": "ABC"}, "sha256", "type"),
])
async def test_declaration_errors_name_the_field(client: Any, world: World, change: dict[str, Any], field: str,
                                                 code: str) -> None:
    data, sha = payload(100)
    body = problem(await declare(client, world, data, sha, **change), 422)
    assert (field, code) in [(e["field"], e["code"]) for e in body["errors"]]


async def test_disk_upload_must_continue_where_it_stopped(client: Any, world: World) -> None:
    data, sha = payload(2000, seed=14)
    headers = await world.headers(client, "expert_a")
    att = (await declare(client, world, data, sha)).json()
    await upload(client, world, att, data, upto=1000)
    r = await client.put(att["upload"]["url"], content=data[500:],
                         headers={**headers, "Content-Range": f"bytes 500-1999/{len(data)}"})
    assert problem(r, 409)["received_bytes"] == 1000
    assert r.headers["upload-offset"] == "1000"
    bad = await client.put(att["upload"]["url"], content=data[1000:],
                           headers={**headers, "Content-Range": "bytes 1000-1999/5000"})
    assert problem(bad, 422)["errors"][0]["code"] == "size_mismatch"


async def test_another_experts_attachment_is_404(client: Any, world: World) -> None:
    data, sha = payload(3000, seed=15)
    att = (await declare(client, world, data, sha)).json()
    other = await world.headers(client, "expert_a2")
    base = f"/api/v1/attachments/{att['id']}"
    problem(await client.get(base, headers=other), 404)
    problem(await client.post(f"{base}/complete", headers=other), 404)
    problem(await client.put(f"{base}/content", content=data, headers=other), 404)
    problem(await client.get(f"{base}/download", headers=other), 404)
    assert (await client.head(f"{base}/content", headers=other)).status_code == 404
    # The same file from another expert is their own record, not a shared one.
    theirs = (await declare(client, world, data, sha, who="expert_a2")).json()
    assert theirs["id"] != att["id"]


async def test_download_follows_the_entry_scope(client: Any, world: World) -> None:
    data, sha = payload(3000, seed=16)
    att = (await declare(client, world, data, sha)).json()
    assert (await upload(client, world, att, data))["status"] == "complete"
    url = f"/api/v1/attachments/{att['id']}/download"
    # Before an entry names the file, only its owner (and an admin) can fetch it.
    assert (await client.get(url, headers=await world.headers(client, "supervisor_a"))).status_code == 404
    await create(client, world, entry_body(world, attachments=[sha]))
    expected = {"expert_a": 200, "supervisor_a": 200, "hr": 200, "admin": 200, "supervisor_b": 404,
                "other_hr": 404, "expert_b": 404, "expert_a2": 404}
    for who, status in expected.items():
        r = await client.get(url, headers=await world.headers(client, who))
        assert r.status_code == status, who
        if status == 200:
            assert r.content == data


async def test_a_file_that_is_not_its_declared_type_is_refused_and_left_incomplete(
        client: Any, world: World, backend: str) -> None:
    html, sha = payload(4096, seed=17, magic=b"<!DOCTYPE html><html><script>alert(1)</script>")
    headers = await world.headers(client, "expert_a")
    att = (await declare(client, world, html, sha, content_type="image/png", file_name="photo.png")).json()
    state = await upload(client, world, att, html)
    if backend == "s3":
        state = problem(await client.post(att["upload"]["complete_url"], headers=headers), 422)
    else:
        assert state["status"] == 422
        assert state["type"] == "urn:fieldlog:problem:validation-error"
    assert (state["reason"], state["declared_type"], state["detected_type"]) == (
        "content_mismatch", "image/png", "text/html")
    assert [(e["field"], e["code"]) for e in state["errors"]] == [("content_type", "content_mismatch")]
    assert "image/png" in state["detail"]
    assert "text/html" in state["detail"]
    # Nothing half-written is visible: the upload is pending with no bytes, and cannot be downloaded.
    after = (await client.get(f"/api/v1/attachments/{att['id']}", headers=headers)).json()
    assert (after["status"], after["received_bytes"]) == ("pending", 0)
    assert problem(await client.get(f"/api/v1/attachments/{att['id']}/download", headers=headers),
                   409)["reason"] == "not_uploaded"
    # Completing again is refused the same way (the S3 object, or the disk bytes, are gone).
    again = problem(await client.post(att["upload"]["complete_url"], headers=headers), 409)
    assert again["reason"] == "incomplete"


async def test_a_real_png_declared_as_png_completes_and_downloads_with_nosniff(client: Any, world: World) -> None:
    png, sha = payload(4096, seed=18, magic=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    att = (await declare(client, world, png, sha, content_type="image/png", file_name="scan.png")).json()
    assert (await upload(client, world, att, png))["status"] == "complete"
    got = await client.get(f"/api/v1/attachments/{att['id']}/download", headers=await world.headers(client, "expert_a"))
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
