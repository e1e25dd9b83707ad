"""The public address printed on documents follows the address served, unless FIELDLOG_PUBLIC_BASE_URL is set."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app import create_app
from backend.settings import Settings, load_settings
from tests.api.test_reports_api import _last_month, summary_url
from tests.factories import World, login
from tests.integration.test_serve import _free_port
from tests.pdf_checks import qr_texts

KEYS = {"FIELDLOG_JWT_KEYS": "t1:" + "k" * 40}


def test_the_public_address_follows_host_and_port_unless_given() -> None:
    assert load_settings(KEYS).public_base_url == "http://127.0.0.1:8000"
    assert load_settings({**KEYS, "FIELDLOG_PORT": "8111"}).public_base_url == "http://127.0.0.1:8111"
    laptop = load_settings(KEYS)
    assert laptop.serving_at("127.0.0.1", 8111).public_base_url == "http://127.0.0.1:8111"
    assert laptop.serving_at("0.0.0.0", 8222).public_base_url == "http://127.0.0.1:8222"  # noqa: S104
    assert laptop.serving_at("::1", 8333).public_base_url == "http://[::1]:8333"
    given = load_settings({**KEYS, "FIELDLOG_PUBLIC_BASE_URL": "https://fieldlog.example.gov.cn/"})
    assert given.serving_at("0.0.0.0", 8111).public_base_url == "https://fieldlog.example.gov.cn"  # noqa: S104
    assert given.serving_at("0.0.0.0", 8111).port == 8111  # noqa: S104


def test_serve_with_a_port_option_publishes_that_address(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "TEST_DATABASE_URL", "FIELDLOG_PORT", "FIELDLOG_PUBLIC_BASE_URL")}
    env.update(FIELDLOG_DATA_DIR=str(tmp_path))
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli.main", "serve", "--no-demo", "--port", str(port)],
                            env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        schema = None
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/schema/openapi.json", timeout=2) as r:
                    schema = json.loads(r.read())
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()[-2000:]
                time.sleep(0.5)
        assert schema is not None, "the server never answered"
        assert schema["servers"] == [{"url": f"http://127.0.0.1:{port}"}]
        assert f"public address http://127.0.0.1:{port}" in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
async def on_8111(test_settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app as `fieldlog serve --port 8111` builds it (the start-up hooks run in the tests' loop)."""
    app = create_app(test_settings.serving_at("127.0.0.1", 8111), database_url)
    for hook in app.on_startup:
        await hook(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8111") as c:
        yield c
    for hook in app.on_shutdown:
        await hook(app)


async def test_documents_print_the_served_port(db: Any, on_8111: httpx.AsyncClient, world: World,
                                               session: AsyncSession) -> None:
    await _last_month(session, world)
    hr = (await login(on_8111, world.hr.username))["headers"]
    r = await on_8111.get(summary_url(world) + "/files/pdf", headers=hr)
    assert r.status_code == 200, r.text
    code = r.headers["x-verification-code"]
    assert qr_texts(r.content, 0) == [f"http://127.0.0.1:8111/verify/{code}"]
