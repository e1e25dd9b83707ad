"""A promotion round stored in S3 (moto in server mode, over real HTTP): the worker puts the ZIP in the bucket,
HR's download is a redirect to a short-lived URL, and the bytes behind it are the ZIP the round describes."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.job_catalog import drain_database
from backend.runtime import Runtime
from backend.settings import load_settings
from tests.conftest import JWT_SECRET
from tests.integration.test_storage import moto_endpoint  # noqa: F401  (the S3 server fixture)


async def test_a_round_in_s3_is_downloaded_through_a_short_lived_url(
        db: Runtime, world: Any, moto_endpoint: str, database_url: str, tmp_path: Path) -> None:  # noqa: F811
    settings = load_settings({
        "FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_JWT_KEYS": f"t1:{JWT_SECRET}", "FIELDLOG_STORAGE": "s3",
        "FIELDLOG_S3_BUCKET": "fieldlog-rounds", "FIELDLOG_S3_ENDPOINT_URL": moto_endpoint,
        "FIELDLOG_S3_PREFIX": "round-test/", "FIELDLOG_WORKER_IN_PROCESS": "false"})
    async with AsyncTestClient(app=create_app(settings, database_url)) as client:
        headers = await world.headers(client, "hr")
        created = await client.post("/api/v1/exports/rounds", headers=headers,
                                    json={"date_from": "2025-01-01", "date_to": "2025-12-31"})
        assert created.status_code == 202, created.text
        await drain_database(settings, database_url)
        view = (await client.get(f"/api/v1/exports/rounds/{created.json()['id']}", headers=headers)).json()
        assert (view["status"], view["progress"], view["experts_done"]) == ("done", 100, 2), view
        reply = await client.get(view["download_url"], headers=headers, follow_redirects=False)
        assert reply.status_code == 302, reply.text
        assert reply.headers["cache-control"] == "no-store"
        url = reply.headers["location"]
        assert url.startswith(moto_endpoint)
        assert "fieldlog-rounds" in url
        assert "Signature" in url
        other = await client.get(view["download_url"], headers=await world.headers(client, "other_hr"),
                                 follow_redirects=False)
        assert other.status_code == 404  # another hospital's HR gets no link at all
    async with httpx.AsyncClient() as s3:
        body = await s3.get(url)
    assert body.status_code == 200
    assert hashlib.sha256(body.content).hexdigest() == view["sha256"]
    names = zipfile.ZipFile(io.BytesIO(body.content)).namelist()
    assert "00_索引.xlsx" in names
    assert len([n for n in names if n.endswith(".pdf")]) == 2
