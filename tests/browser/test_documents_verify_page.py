"""The public verify page in Chromium: a committee member picks the file they received and the page says
whether it is the very file issued under the code (and that a changed copy is not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.runtime import Runtime
from tests.api.test_verify_file import issued
from tests.browser.conftest import LiveServer, RequestLog, screenshot


async def test_the_page_checks_a_chosen_file(
    page: Any, live_server: LiveServer, server_log: RequestLog, db: Runtime, session: AsyncSession, world: Any,
    tmp_path: Path,
) -> None:
    code, pdf, _ = await issued(db, session, world)
    good, bad = tmp_path / "证明.pdf", tmp_path / "改过.pdf"
    good.write_bytes(pdf)
    changed = bytearray(pdf)
    changed[len(pdf) // 2] ^= 0x01
    bad.write_bytes(bytes(changed))

    await page.goto(f"/verify/{code}")
    await page.set_input_files("#file", str(good))
    result = page.locator("#result.ok")
    await result.wait_for()
    assert "一致" in await result.inner_text()
    await result.scroll_into_view_if_needed()
    await screenshot(page, "documents/verify-page")

    await page.set_input_files("#file", str(bad))
    refused = page.locator("#result.bad")
    await refused.wait_for()
    assert "不一致" in await refused.inner_text()
    compact = code.replace("-", "")
    assert [h.status for h in server_log.matching("POST", f"/api/v1/verify/{compact}/file")] == [200, 200]
