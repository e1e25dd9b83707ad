"""Evidence export over HTTP: who may export, what the files contain, and public verification."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pypdf
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.job_catalog import drain_database
from backend.models import AuditEvent, Entry, ExportJob

PERIOD = {"date_from": "2025-03-01", "date_to": "2025-04-30"}


async def add_entry(
    session: AsyncSession,
    world: Any,
    day: date,
    activity_type: str,
    fields: dict[str, Any],
    *,
    status: str = "approved",
    expert: str = "expert_a",
    **kw: Any,
) -> Entry:
    expert_user = getattr(world, expert)
    deployment = world.deployment_a if expert == "expert_a" else world.deployment_b
    approved = status == "approved"
    entry = Entry(
        id=uuid.uuid4(),
        expert_id=expert_user.id,
        deployment_id=deployment.id,
        institution_id=deployment.recipient_id,
        work_date=day,
        activity_type=activity_type,
        fields=fields,
        status=status,
        content_hash="0" * 64,
        reviewed_by=world.supervisor_a.id if approved else None,
        reviewed_at=datetime(2025, 5, 2, 1, 30, tzinfo=UTC) if approved else None,
        **kw,
    )
    session.add(entry)
    await session.flush()
    return entry


async def arrange(session: AsyncSession, world: Any) -> dict[str, Entry]:
    """Approved work in March and April, plus entries that must not be counted."""
    e: dict[str, Entry] = {}
    e["clinic"] = await add_entry(
        session,
        world,
        date(2025, 3, 3),
        "clinic",
        {"session": "am", "patients_first_visit": 12, "patients_follow_up": 5},
    )
    e["surgery"] = await add_entry(
        session,
        world,
        date(2025, 3, 4),
        "surgery",
        {"procedure_name": "=腹腔镜胆囊切除术", "grade": "grade_3", "role": "primary", "patient_age": 54},
    )
    e["lecture"] = await add_entry(
        session,
        world,
        date(2025, 4, 8),
        "lecture",
        {"title": "急腹症诊治", "hours": 2.5, "audience_count": 40},
    )
    e["present"] = await add_entry(session, world, date(2025, 4, 9), "attendance", {"status": "present"})
    e["submitted"] = await add_entry(
        session,
        world,
        date(2025, 4, 10),
        "clinic",
        {"session": "pm", "patients_first_visit": 100},
        status="submitted",
    )
    e["returned"] = await add_entry(
        session,
        world,
        date(2025, 4, 11),
        "clinic",
        {"session": "pm", "patients_first_visit": 200},
        status="returned",
    )
    original = await add_entry(
        session, world, date(2025, 4, 12), "free_clinic", {"place": "某村", "people_served": 999}
    )
    revision = await add_entry(
        session,
        world,
        date(2025, 4, 12),
        "free_clinic",
        {"place": "某村", "people_served": 80},
        revision_of=original.id,
    )
    await session.execute(update(Entry).where(Entry.id == original.id).values(superseded_by=revision.id))
    e["original"], e["revision"] = original, revision
    e["outside"] = await add_entry(
        session, world, date(2025, 5, 1), "clinic", {"session": "am", "patients_first_visit": 7}
    )
    e["other_expert"] = await add_entry(
        session,
        world,
        date(2025, 3, 3),
        "clinic",
        {"session": "am", "patients_first_visit": 3},
        expert="expert_b",
    )
    await session.commit()
    return e


async def export(client: Any, world: Any, who: str, **body: Any) -> Any:
    payload = {"expert_id": str(world.expert_a.id), **PERIOD, **body}
    return await client.post("/api/v1/exports", json=payload, headers=await world.headers(client, who))


async def finished(client: Any, world: Any, who: str, export_id: str) -> dict[str, Any]:
    app_runtime = client.app.state["runtime"]  # exports run on the job queue: work off what is queued
    await drain_database(app_runtime.settings, app_runtime.database_url)
    response = await client.get(f"/api/v1/exports/{export_id}", headers=await world.headers(client, who))
    assert response.status_code == 200, response.text
    return response.json()


async def download(client: Any, world: Any, who: str, export_id: str, fmt: str) -> bytes:
    response = await client.get(
        f"/api/v1/exports/{export_id}/files/{fmt}", headers=await world.headers(client, who)
    )
    assert response.status_code == 200, response.text
    return response.content


async def test_hr_of_home_hospital_exports_and_the_job_finishes(
    client: Any, world: Any, session: AsyncSession
) -> None:
    await arrange(session, world)
    created = await export(client, world, "hr")
    assert created.status_code == 202, created.text
    assert created.json()["status"] == "queued"
    job = await finished(client, world, "hr", created.json()["id"])
    assert (job["status"], job["progress"]) == ("done", 100)
    assert sorted(f["format"] for f in job["files"]) == ["csv", "pdf", "xlsx"]
    audit = (
        (await session.execute(select(AuditEvent).where(AuditEvent.action == "export.create")))
        .scalars()
        .all()
    )
    assert [a.object_id for a in audit] == [job["id"]]


@pytest.mark.parametrize("who", ["other_hr", "supervisor_a", "expert_a2"])
async def test_anyone_but_home_hr_admin_or_the_expert_gets_not_found(
    client: Any, world: Any, who: str
) -> None:
    response = await export(client, world, who)
    assert response.status_code == 404, response.text


async def test_job_and_files_of_an_export_are_not_found_for_others(
    client: Any, world: Any, session: AsyncSession
) -> None:
    await arrange(session, world)
    job_id = (await export(client, world, "hr")).json()["id"]
    headers = await world.headers(client, "other_hr")
    assert (await client.get(f"/api/v1/exports/{job_id}", headers=headers)).status_code == 404
    assert (await client.get(f"/api/v1/exports/{job_id}/files/pdf", headers=headers)).status_code == 404
    # The expert and an admin may follow it.
    assert (await finished(client, world, "expert_a", job_id))["status"] == "done"
    assert (await finished(client, world, "admin", job_id))["status"] == "done"


async def test_pdf_sha256_is_what_the_public_page_shows(
    client: Any, world: Any, session: AsyncSession
) -> None:
    await arrange(session, world)
    job = await finished(client, world, "hr", (await export(client, world, "hr")).json()["id"])
    pdf_bytes = await download(client, world, "hr", job["id"], "pdf")
    code = job["verification_code"]

    public = await client.get(f"/api/v1/verify/{code}")  # no Authorization header
    assert public.status_code == 200, public.text
    body = public.json()
    shown = {f["format"]: f["sha256"] for f in body["files"]}
    assert shown["pdf"] == hashlib.sha256(pdf_bytes).hexdigest()
    assert body["expert_name"] == "专家甲"
    assert body["totals"]["patients"] == 17
    assert "phone" not in public.text

    page = await client.get(f"/verify/{code.lower().replace('-', '')}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert shown["pdf"] in page.text
    assert "专家甲" in page.text
    as_json = await client.get(f"/verify/{code}", headers={"Accept": "application/json"})
    assert as_json.json()["files"] == body["files"]

    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages)
    assert "派驻工作量证明" in text
    assert "专家甲" in text
    assert code in text
    assert "审核甲" in text  # the approver's name


async def test_unknown_verification_code_is_a_404_problem(client: Any) -> None:
    for path in ("/api/v1/verify/ABCD-EFGH-JKMN", "/verify/ABCD-EFGH-JKMN", "/verify/not-a-code"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_only_counted_entries_appear_in_csv_and_xlsx(
    client: Any, world: Any, session: AsyncSession
) -> None:
    e = await arrange(session, world)
    job = await finished(client, world, "hr", (await export(client, world, "hr")).json()["id"])
    counted = {str(e[k].id) for k in ("clinic", "surgery", "lecture", "present", "revision")}

    raw = await download(client, world, "hr", job["id"], "csv")
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][-1] == "记录编号"
    assert {r[-1] for r in rows[1:]} == counted
    assert len(rows) - 1 == len(counted)
    surgery = next(r for r in rows if r[-1] == str(e["surgery"].id))
    assert surgery[2].startswith("手术名称:=腹腔镜")  # the label first: a phone's text never opens a cell
    assert "患者" not in surgery[2]
    assert "54" not in surgery[2]
    assert surgery[4] == "审核甲"
    assert surgery[5] == "2025-05-02 09:30"

    book = openpyxl.load_workbook(io.BytesIO(await download(client, world, "hr", job["id"], "xlsx")))
    assert book.sheetnames == ["汇总", "派驻", "按月", "明细"]
    detail = list(book["明细"].iter_rows(values_only=True))
    assert list(detail[0]) == rows[0]
    # The same entries as the CSV, typed: the date as a date, the approval time as a local date-time.
    assert [(r[0].date().isoformat(), *r[1:5], r[5].strftime("%Y-%m-%d %H:%M"), r[6]) for r in detail[1:]] == [
        tuple(r) for r in rows[1:]
    ]
    months = list(book["按月"].iter_rows(values_only=True))
    assert [m[0] for m in months[1:]] == ["2025-03", "2025-04", "合计"]
    header = list(months[0])
    total = dict(zip(header, months[-1], strict=True))
    assert total["诊疗人次"] == 17
    assert total["义诊服务人数"] == 80  # the revision, not the superseded original
    assert total["授课学时"] == 2.5
    assert total["在岗天数"] == 1
    assert total["已审核记录(条)"] == 5


async def test_pending_entries_are_counted_apart(client: Any, world: Any, session: AsyncSession) -> None:
    await arrange(session, world)
    job = await finished(client, world, "expert_a", (await export(client, world, "expert_a")).json()["id"])
    body = (await client.get(f"/api/v1/verify/{job['verification_code']}")).json()
    assert body["pending_count"] == 1
    assert body["entry_count"] == 5


async def test_a_job_whose_process_died_is_marked_failed_on_read(
    client: Any, world: Any, session: AsyncSession
) -> None:
    job = ExportJob(
        id=uuid.uuid4(),
        expert_id=world.expert_a.id,
        requested_by=world.hr.id,
        date_from=date(2025, 1, 1),
        date_to=date(2025, 1, 31),
        formats=["pdf"],
        status="running",
        progress=30,
        verification_code="0123456789AB",
        updated_at=datetime.now(UTC) - timedelta(hours=1),
    )
    session.add(job)
    await session.commit()
    body = await finished(client, world, "hr", str(job.id))
    assert body["status"] == "failed"
    assert "interrupted" in body["error"]
    response = await client.get(
        f"/api/v1/exports/{job.id}/files/pdf", headers=await world.headers(client, "hr")
    )
    assert response.status_code == 409


async def test_bad_period_and_unknown_fields_are_refused(client: Any, world: Any) -> None:
    reversed_period = await export(client, world, "hr", date_from="2025-05-01", date_to="2025-04-01")
    assert reversed_period.status_code == 422
    assert reversed_period.json()["errors"][0]["field"] == "date_to"
    unknown = await export(client, world, "hr", colour="red")
    assert unknown.status_code == 422
    bad_format = await export(client, world, "hr", formats=["docx"])
    assert bad_format.status_code == 422
