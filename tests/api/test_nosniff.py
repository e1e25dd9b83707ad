"""Every answer says `X-Content-Type-Options: nosniff`, once: downloads, documents, the console, problems.

A browser must never run an upload or a document as something other than its declared type, so the header
is on the whole app (a `before_send` hook), not on chosen routes; this walks one answer of each kind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.test_export_api import arrange, export, finished
from tests.api.test_reports_api import _last_month, summary_url
from tests.factories import World


def nosniff_once(response: Any) -> None:
    assert response.headers.get_list("x-content-type-options") == ["nosniff"], (
        response.request.url, response.headers)


async def test_the_console_phone_app_schema_and_problems_are_nosniff(client: Any) -> None:
    for path in ("/", "/static/app.css", "/app/", "/schema/openapi.json", "/health"):
        r = await client.get(path)
        assert r.status_code == 200, path
        nosniff_once(r)
    for path, status in (("/api/v1/me", 401), ("/no/such/page", 404), ("/verify/ABCD-EFGH-JKLM", 404)):
        r = await client.get(path)
        assert r.status_code == status, path
        nosniff_once(r)


async def test_export_files_and_documents_are_nosniff(client: Any, world: World, session: AsyncSession) -> None:
    await arrange(session, world)
    job = await finished(client, world, "hr", (await export(client, world, "hr")).json()["id"])
    hr = await world.headers(client, "hr")
    for fmt in ("pdf", "csv", "xlsx"):
        r = await client.get(f"/api/v1/exports/{job['id']}/files/{fmt}", headers=hr)
        assert r.status_code == 200, r.text
        nosniff_once(r)
    verify_path = "/verify/" + job["verification_code"]
    page = await client.get(verify_path)
    assert page.status_code == 200
    nosniff_once(page)


async def test_report_documents_are_nosniff(client: Any, world: World, session: AsyncSession) -> None:
    await _last_month(session, world)
    hr = await world.headers(client, "hr")
    for fmt in ("pdf", "xlsx"):
        r = await client.get(summary_url(world) + f"/files/{fmt}", headers=hr)
        assert r.status_code == 200, r.text
        nosniff_once(r)
