"""The harness itself: the live server answers the browser, and the log sees the request server-side."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer, RequestLog


async def test_the_browser_reaches_the_live_server(page: Any, live_server: LiveServer, server_log: RequestLog) -> None:
    response = await page.goto("/health")
    assert response is not None
    assert response.status == 200
    assert await page.evaluate("window.isSecureContext") is True
    assert [h.status for h in server_log.matching("GET", "/health")] == [200]
