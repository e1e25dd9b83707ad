"""The verify page's file check over HTTP: the exact issued file matches, a changed byte does not, and bad
input gets a problem; public, bounded, rate-limited, and it tells nothing the page does not show."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents import verification
from backend.documents.codes import display, new_code
from backend.errors import TooManyRequests
from backend.export import produce
from backend.models import ExportFile, ExportJob, VerifyCheck
from backend.runtime import Runtime


async def issued(db: Runtime, session: AsyncSession, world: Any) -> tuple[str, bytes, ExportJob]:
    """A done export of expert_a with a real signed PDF and its XLSX, stored as the runner stores them."""
    job = ExportJob(
        id=uuid.uuid4(), expert_id=world.expert_a.id, requested_by=world.hr.id, date_from=date(2025, 1, 1),
        date_to=date(2025, 1, 31), formats=["pdf", "xlsx"], status="running", progress=5,
        verification_code=new_code(),
    )
    session.add(job)
    await session.commit()
    evidence = await produce.load_evidence(session, job, db.settings)
    files = {fmt: await asyncio.to_thread(produce.render, fmt, evidence, db.settings) for fmt in job.formats}
    job.status, job.progress = "done", 100
    job.statement = msgspec.to_builtins(produce.statement_of(evidence))
    for fmt, content in files.items():
        session.add(ExportFile(export_id=job.id, format=fmt, file_name=f"证明.{fmt}", content_type="x/y",
                               size=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content))
    await session.commit()
    return display(job.verification_code), files["pdf"], job


async def check(client: Any, code: str, body: bytes) -> Any:
    return await client.post(f"/api/v1/verify/{code}/file", content=body,
                             headers={"Content-Type": "application/octet-stream"})


async def test_the_issued_file_matches_and_a_changed_byte_does_not(
    db: Runtime, session: AsyncSession, world: Any, client: Any
) -> None:
    code, pdf, job = await issued(db, session, world)
    same = await check(client, code.lower(), pdf)  # no Authorization header: public
    assert same.status_code == 200, same.text
    body = same.json()
    assert body["matches"] is True
    assert body["matched"]["format"] == "pdf"
    assert body["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert body["verification_code"] == code
    # Nothing the page does not show: no internal ids, no user names.
    for secret in (str(job.id), str(world.expert_a.id), str(world.hr.id), world.expert_a.username):
        assert secret not in same.text

    changed = bytearray(pdf)
    changed[len(pdf) // 3] ^= 0x01
    other = await check(client, code, bytes(changed))
    assert other.status_code == 200
    assert other.json()["matches"] is False
    assert other.json()["matched"] is None
    assert other.json()["sha256"] == hashlib.sha256(bytes(changed)).hexdigest()


async def test_unknown_code_empty_and_oversized_bodies_are_problems(
    db: Runtime, session: AsyncSession, world: Any, client: Any
) -> None:
    code, pdf, _ = await issued(db, session, world)
    unknown = await check(client, "ABCD-EFGH-JKMN", pdf)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert (await check(client, "../etc", pdf)).status_code == 404
    empty = await check(client, code, b"")
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "body"
    too_big = await check(client, code, b"\0" * (verification.MAX_CHECK_BYTES + 2))
    assert too_big.status_code == 413
    assert too_big.headers["content-type"].startswith("application/problem+json")


async def test_checks_per_address_are_limited(db: Runtime, session: AsyncSession, world: Any, client: Any) -> None:
    code, pdf, _ = await issued(db, session, world)
    state = client.app.state
    state["verify_check_limit"] = verification.CheckLimit(limit=2, window=60)
    try:
        assert [(await check(client, code, pdf)).status_code for _ in range(2)] == [200, 200]
        refused = await check(client, code, pdf)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Counted in the database, so every API node sees the same count.
        assert await session.scalar(select(func.count()).select_from(VerifyCheck)) == 2
    finally:
        state["verify_check_limit"] = None


async def test_the_window_frees_up_as_time_passes(session: AsyncSession) -> None:
    rule = verification.CheckLimit(limit=2, window=10)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    await verification.admit(session, "a", rule, now=t0)
    await verification.admit(session, "a", rule, now=t0 + timedelta(seconds=1))
    await verification.admit(session, "b", rule, now=t0 + timedelta(seconds=1))  # another address counts apart
    with pytest.raises(TooManyRequests) as refused:
        await verification.admit(session, "a", rule, now=t0 + timedelta(seconds=5))
    assert refused.value.headers["Retry-After"] == "5"
    await verification.admit(session, "a", rule, now=t0 + timedelta(seconds=10.5))  # the first check left the window
    # Counts older than the window are cleared as checks come in.
    assert await session.scalar(select(func.min(VerifyCheck.at))) > t0


async def test_the_page_offers_the_upload_and_serves_its_script(
    db: Runtime, session: AsyncSession, world: Any, client: Any
) -> None:
    code, _, _ = await issued(db, session, world)
    page = await client.get(f"/verify/{code}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    compact = code.replace("-", "")
    assert f"data-check-url='/api/v1/verify/{compact}/file'" in page.text
    assert "type='file'" in page.text
    assert "基层服务天数" in page.text
    script = await client.get("/static/verify.js")
    assert script.status_code == 200
    assert "drop" in script.text
    assert "dataset.checkUrl" in script.text  # posts to the URL the page names
