"""HR's promotion round end to end on PostgreSQL and the job queue: one ZIP with every expert's signed PDF and
XLSX and an index sheet, progress to 100, each document verifiable, scope, bad input, and a round taken
over after its worker went away without redoing the experts already issued."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import openpyxl
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents import signing
from backend.export import round_job
from backend.job_catalog import drain_database
from backend.models import ExportJob, PromotionRound
from backend.runtime import Runtime
from backend.storage import build_storage
from tests.pdf_checks import assert_every_font_embedded, validate_signature

PERIOD = {"date_from": "2025-01-01", "date_to": "2025-12-31"}


async def drain(client: Any) -> None:
    runtime = client.app.state["runtime"]
    await drain_database(runtime.settings, runtime.database_url)


async def start(client: Any, world: Any, who: str = "hr", **body: Any) -> Any:
    return await client.post("/api/v1/exports/rounds", json={**PERIOD, **body},
                             headers=await world.headers(client, who))


async def test_hr_gets_one_zip_of_every_expert_of_the_hospital(db: Runtime, client: Any, world: Any,
                                                                 session: AsyncSession) -> None:
    from datetime import date

    from backend.models import Appraisal

    session.add(Appraisal(deployment_id=world.deployment_a.id, period_start=date(2025, 1, 1),
                          period_end=date(2025, 6, 30), state="countersigned", self_assessment="自评",
                          rating="excellent"))
    await session.commit()
    created = await start(client, world)
    assert created.status_code == 202, created.text
    assert (created.json()["status"], created.json()["progress"]) == ("queued", 0)
    round_id = created.json()["id"]
    await drain(client)
    headers = await world.headers(client, "hr")
    view = (await client.get(f"/api/v1/exports/rounds/{round_id}", headers=headers)).json()
    assert (view["status"], view["progress"], view["experts_total"], view["experts_done"]) == ("done", 100, 2, 2)
    reply = await client.get(view["download_url"], headers=headers)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/zip"
    import hashlib

    assert hashlib.sha256(reply.content).hexdigest() == view["sha256"]
    archive = zipfile.ZipFile(io.BytesIO(reply.content))
    names = sorted(archive.namelist())
    assert "00_索引.xlsx" in names
    pdfs = [n for n in names if n.endswith(".pdf")]
    assert len(pdfs) == 2
    assert len([n for n in names if n.endswith(".xlsx")]) == 3
    assert any("专家甲二" in n for n in pdfs)
    assert not any("专家乙" in n for n in names)  # the other hospital's expert is not in it
    index = list(openpyxl.load_workbook(io.BytesIO(archive.read("00_索引.xlsx")))["索引"].iter_rows(values_only=True))
    column = {name: i for i, name in enumerate(index[0])}
    assert [r[column["姓名"]] for r in index[1:]] == ["专家甲", "专家甲二"]
    assert [r[column["考核结果"]] for r in index[1:]] == ["优秀（已会签，至 2025-06-30）", "无考核记录"]
    root = signing.signer_for(db.settings).signing_cert
    for row in index[1:]:
        code, pdf_name, pdf_sha = row[column["验证码"]], row[column["PDF 文件"]], row[column["PDF SHA-256"]]
        pdf = archive.read(pdf_name)
        assert hashlib.sha256(pdf).hexdigest() == pdf_sha
        assert_every_font_embedded(pdf)
        assert (await validate_signature(pdf, root)).bottom_line is True
        check = await client.post(f"/api/v1/verify/{code}/file", content=pdf)
        assert check.json()["matches"] is True  # each document verifies like a single export


async def test_scope_and_bad_input(client: Any, world: Any) -> None:
    round_id = (await start(client, world)).json()["id"]
    for who in ("other_hr", "expert_a", "supervisor_a"):
        reply = await client.get(f"/api/v1/exports/rounds/{round_id}", headers=await world.headers(client, who))
        assert reply.status_code == 404, who
    not_done = await client.get(f"/api/v1/exports/rounds/{round_id}/file", headers=await world.headers(client, "hr"))
    assert not_done.status_code == 409
    assert (await start(client, world, "expert_a")).status_code == 403
    other = await start(client, world, "hr", institution_id=str(world.other_home.id))
    assert other.status_code == 404  # another hospital's experts are not the caller's
    admin = await start(client, world, "admin")
    assert admin.status_code == 422
    assert admin.json()["errors"][0]["field"] == "institution_id"
    too_long = await start(client, world, "hr", date_from="2010-01-01", date_to="2025-12-31")
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["code"] == "too_long"
    assert (await start(client, world, "hr", colour="red")).status_code == 422
    assert (await client.get(f"/api/v1/exports/rounds/{round_id}")).status_code == 401


async def test_a_round_whose_worker_died_is_taken_over_without_redoing_issued_experts(
    db: Runtime, session: AsyncSession, client: Any, world: Any
) -> None:
    round_id = (await start(client, world)).json()["id"]
    row = await session.get(PromotionRound, round_id)
    assert row is not None
    # The first worker issued the first expert's documents, then its node went away mid-round.
    first = await round_job._issue(db.sessionmaker, db.settings, row, world.expert_a.id)
    await session.execute(update(PromotionRound).where(PromotionRound.id == row.id)
                          .values(status="running", experts_total=2, experts_done=1, progress=48))
    await session.commit()
    storage = build_storage(db.settings)
    await storage.start()
    await round_job.build_round(db.sessionmaker, db.settings, storage, row.id)
    await session.refresh(row)
    assert (row.status, row.progress, row.experts_done) == ("done", 100, 2)
    exports = (await session.execute(
        select(ExportJob.expert_id, func.count()).where(ExportJob.round_id == row.id).group_by(ExportJob.expert_id)
    )).all()
    assert dict(exports) == {world.expert_a.id: 1, world.expert_a2.id: 1}  # the first expert was reused
    path = storage.local_path(row.storage_key or "")
    assert path is not None
    index = openpyxl.load_workbook(io.BytesIO(zipfile.ZipFile(path).read("00_索引.xlsx")))["索引"]
    assert index["E2"].value.replace("-", "") == first[0].verification_code
    # A done round is not built again when its job is delivered once more.
    await round_job.build_round(db.sessionmaker, db.settings, storage, row.id)
    assert (await session.scalar(select(func.count()).where(ExportJob.round_id == row.id))) == 2
