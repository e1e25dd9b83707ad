"""The pages' Content-Security-Policy lets a browser upload where the storage sends it, and nowhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import load_settings
from tests.integration.test_storage import moto_endpoint  # noqa: F401  (the S3 server fixture)

JWT = "t1:test-signing-key-0123456789-abcdefghijklmnop"


def _connect_src(csp: str) -> list[str]:
    for directive in csp.split(";"):
        name, *values = directive.split()
        if name == "connect-src":
            return values
    raise AssertionError(f"no connect-src in {csp!r}")


async def _policies(env: dict[str, str], database_url: str) -> dict[str, list[str]]:
    app = create_app(load_settings(env), database_url)
    found: dict[str, list[str]] = {}
    async with AsyncTestClient(app=app) as client:
        for path in ("/", "/app/", "/app/js/main.js"):
            response = await client.get(path)
            assert response.status_code == 200, path
            found[path] = _connect_src(response.headers["content-security-policy"])
    return found


async def test_s3_storage_adds_only_its_own_origin(moto_endpoint: str, database_url: str, tmp_path: Path) -> None:  # noqa: F811
    env = {"FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_JWT_KEYS": JWT, "FIELDLOG_STORAGE": "s3",
           "FIELDLOG_S3_BUCKET": "fieldlog-csp", "FIELDLOG_S3_ENDPOINT_URL": moto_endpoint,
           "FIELDLOG_WORKER_IN_PROCESS": "false"}
    for path, sources in (await _policies(env, database_url)).items():
        assert sources == ["'self'", moto_endpoint.rstrip("/")], path


async def test_disk_storage_allows_only_this_origin(database_url: str, tmp_path: Path) -> None:
    env: dict[str, Any] = {"FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_JWT_KEYS": JWT,
                           "FIELDLOG_WORKER_IN_PROCESS": "false"}
    for path, sources in (await _policies(env, database_url)).items():
        assert sources == ["'self'"], path
