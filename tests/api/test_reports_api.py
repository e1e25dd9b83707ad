"""Reports over HTTP: the expert's summary from the phone, review, documents, the annual report, bad input."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents import signing
from backend.models import IssuedReport
from backend.runtime import Runtime
from tests.factories import World, make_deployment
from tests.pdf_checks import (
    assert_every_font_embedded,
    page_texts,
    qr_texts,
    save_screenshot,
    validate_signature,
)
from tests.stats_helpers import add_entry

TODAY = date.today()
LAST_MONTH = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)
MONTH = LAST_MONTH.strftime("%Y-%m")


def summary_url(world: World, month: str = MONTH, expert: Any = None) -> str:
    return f"/api/v1/experts/{(expert or world.expert_a).id}/summaries/{month}"


async def _last_month(session: AsyncSession, world: World) -> None:
    dep = world.deployment_a  # started 120 days ago: covers last month
    await add_entry(session, dep, LAST_MONTH, "attendance", {"status": "present"})
    await add_entry(session, dep, LAST_MONTH + timedelta(days=1), "clinic",
                    {"session": "am", "patients_first_visit": 14, "patients_follow_up": 6})
    await add_entry(session, dep, LAST_MONTH + timedelta(days=2), "surgery", {"grade": "grade_4", "role": "primary"},
                    status="submitted")
    await session.commit()


async def test_phone_writes_submits_and_supervisor_approves(client: Any, world: World, session: AsyncSession) -> None:
    await _last_month(session, world)
    me = await world.headers(client, "expert_a")
    draft = (await client.get(summary_url(world), headers=me)).json()
    assert (draft["state"], draft["saved"]) == ("draft", False)
    # By hand: 2 approved entries (1 day present; 14 + 6 = 20 patients), 1 pending grade-4 surgery.
    assert (draft["content"]["approved"]["entries"], draft["content"]["approved"]["patients"]) == (2, 20)
    assert (draft["content"]["pending"]["entries"], draft["content"]["pending"]["surgeries"]) == (1, 1)
    r = await client.put(summary_url(world) + "/text", headers=me, json={"narrative": "门诊与手术示教", "app": "1.2"})
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "app")  # an unknown key is refused, not dropped
    r = await client.put(summary_url(world) + "/text", headers=me, json={"narrative": "门诊与手术示教"})
    assert (r.status_code, r.json()["narrative"]) == (200, "门诊与手术示教")
    r = await client.post(summary_url(world) + "/submit", headers=me, json={})
    assert (r.status_code, r.json()["state"], r.json()["figures_frozen"]) == (200, "submitted", True)
    sup = await world.headers(client, "supervisor_a")
    queue = (await client.get("/api/v1/summaries", headers=sup, params={"state": "submitted"})).json()
    assert [(q["expert_id"], q["month"]) for q in queue] == [(str(world.expert_a.id), MONTH)]
    r = await client.post(summary_url(world) + "/review", headers=sup, json={"action": "return"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["comment"]
    r = await client.post(summary_url(world) + "/review", headers=sup, json={"action": "approve", "comment": "同意"})
    assert (r.status_code, r.json()["state"], r.json()["reviewed_by"]) == (200, "approved", world.supervisor_a.name)
    r = await client.put(summary_url(world) + "/text", headers=me, json={"narrative": "再改"})
    assert (r.status_code, r.json()["type"]) == (409, "urn:fieldlog:problem:locked")


async def test_bad_input_is_a_problem_with_the_reason(client: Any, world: World) -> None:
    me = await world.headers(client, "expert_a")
    this_month = TODAY.strftime("%Y-%m")
    r = await client.get(summary_url(world, this_month), headers=me)
    assert r.status_code == 422
    body = r.json()
    assert body["reason"] == "month_not_over"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("month", "month_not_over")]
    r = await client.get(summary_url(world, "2026-13"), headers=me)
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("month", "invalid_month")]
    r = await client.put(summary_url(world, "2020-01") + "/text", headers=me, json={"narrative": "x"})
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("month", "no_deployment")]
    r = await client.put(summary_url(world) + "/text", headers=me, json={"narrative": "长" * 5001})
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("narrative", "too_long")]
    r = await client.post(summary_url(world) + "/submit", headers=me, json={"narrative": "  "})
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("narrative", "required")]
    r = await client.get(summary_url(world) + "/files/docx", headers=me)
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("fmt", "invalid_choice")]
    # An expert out of scope is not found, for reading and for writing.
    other = await world.headers(client, "expert_b")
    for method, url in (("GET", summary_url(world)), ("PUT", summary_url(world) + "/text")):
        r = await client.request(method, url, headers=other, json={"narrative": "x"})
        assert (r.status_code, r.json()["type"]) == (404, "urn:fieldlog:problem:not-found"), url
    hr = await world.headers(client, "hr")
    r = await client.get(f"/api/v1/reports/agreements/{world.agreement_a.id}", headers=hr, params={"year": 1999})
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("year", "out_of_range")]
    r = await client.get(f"/api/v1/reports/agreements/{uuid.uuid4()}", headers=hr)
    assert r.status_code == 404
    r = await client.post(f"/api/v1/deployments/{world.deployment_a.id}/appraisals/2026-02-30/rating",
                          headers=await world.headers(client, "supervisor_a"), json={"rating": "excellent",
                                                                                    "comment": "x"})
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("period_start", "invalid_date")]


async def _check_pdf(db: Runtime, session: AsyncSession, r: Any, name: str) -> bytes:
    assert r.status_code == 200, r.text
    pdf = r.content
    code = r.headers["x-verification-code"]
    assert_every_font_embedded(pdf)
    status = await validate_signature(pdf, signing.signer_for(db.settings).signing_cert)
    assert (status.intact, status.valid) == (True, True)
    assert qr_texts(pdf, 0) == [f"{db.settings.public_base_url}/verify/{code}"]
    texts = page_texts(pdf)
    assert all(f"共 {len(texts)} 页" in t and code in t for t in texts)
    row = (await session.execute(select(IssuedReport).where(
        IssuedReport.verification_code == code.replace("-", "")))).scalar_one()
    assert row.sha256 == hashlib.sha256(pdf).hexdigest()
    save_screenshot(pdf, name)
    return pdf


async def _verifies_publicly(client: Any, pdf: bytes) -> None:
    """Anyone holding the printout can look the code up; the exact file matches, a changed byte does not."""
    import re

    code = re.search(r"/verify/([0-9A-Z-]+)", "".join(page_texts(pdf)) + " ".join(qr_texts(pdf, 0))).group(1)
    client.headers.clear()
    page = await client.get(f"/verify/{code}")
    assert page.status_code == 200
    assert "月度工作小结核验" in page.text
    assert hashlib.sha256(pdf).hexdigest() in page.text
    data = (await client.get(f"/api/v1/verify/{code}", headers={"accept": "application/json"})).json()
    assert (data["kind"], data["sha256"], data["size"]) == ("monthly_summary", hashlib.sha256(pdf).hexdigest(),
                                                            len(pdf))
    assert not any("id" in key for key in data)  # no internal ids on the public answer
    same = (await client.post(f"/api/v1/verify/{code}/file", content=pdf)).json()
    assert (same["matches"], same["matched"]["sha256"]) == (True, hashlib.sha256(pdf).hexdigest())
    flipped = pdf[:100] + bytes([pdf[100] ^ 1]) + pdf[101:]
    other = (await client.post(f"/api/v1/verify/{code}/file", content=flipped)).json()
    assert (other["matches"], other["matched"]) == (False, None)
    unknown = await client.post("/api/v1/verify/ABCD-EFGH-JKLM/file", content=pdf)
    assert unknown.status_code == 404


async def test_summary_documents(client: Any, world: World, session: AsyncSession, db: Runtime) -> None:
    await _last_month(session, world)
    me = await world.headers(client, "expert_a")
    await client.put(summary_url(world) + "/text", headers=me, json={"narrative": "本月完成专家门诊与手术示教。"})
    hr = await world.headers(client, "hr")
    pdf = await _check_pdf(db, session, await client.get(summary_url(world) + "/files/pdf", headers=hr),
                           "monthly-summary")
    text = "".join(page_texts(pdf))
    assert "月度工作小结" in text
    assert world.expert_a.name in text
    assert "本月完成专家门诊与手术示教" in text
    await _verifies_publicly(client, pdf)
    r = await client.get(summary_url(world) + "/files/xlsx", headers=hr)
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["汇总", "明细", "派驻"]
    detail = wb["明细"]
    assert detail.freeze_panes == "A2"
    rows = list(detail.iter_rows(min_row=2, values_only=True))
    assert [(type(row[0]), row[3]) for row in rows] == [(datetime, "已审核")] * 2 + [(datetime, "待审核(未计入)")]
    figures = {row[0]: row[1:] for row in wb["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert figures["诊疗人次"] == (20, 0)  # numbers, not text: approved 20, pending 0
    assert figures["手术台次"] == (0, 1)


async def test_annual_report_documents_and_scope(client: Any, world: World, session: AsyncSession,
                                                 db: Runtime) -> None:
    await _last_month(session, world)
    hr = await world.headers(client, "hr")
    url = f"/api/v1/reports/agreements/{world.agreement_a.id}"
    report = (await client.get(url, headers=hr, params={"year": LAST_MONTH.year})).json()
    assert report["targets_set"] is False  # the world's agreement has no targets: the report says so
    assert report["targets_note"].startswith(f"本协议未设定 {LAST_MONTH.year} 年度目标")
    assert report["experts_stationed"] == 2  # expert_a (vice-president) and expert_a2 under agreement A
    assert report["leaders_stationed"] == 1
    for who, status in (("other_hr", 404), ("supervisor_a", 403), ("expert_a", 403)):
        r = await client.get(url, headers=await world.headers(client, who))
        assert r.status_code == status, who
    pdf = await _check_pdf(db, session, await client.get(url + "/files/pdf", headers=hr,
                                                         params={"year": LAST_MONTH.year}), "annual-report")
    assert "年度帮扶工作报告" in "".join(page_texts(pdf))
    r = await client.get(url + "/files/xlsx", headers=await world.headers(client, "admin"))
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "汇总"
    assert wb["派驻人员"].freeze_panes == "A2"
    starts = [row[3] for row in wb["派驻人员"].iter_rows(min_row=2, values_only=True)]
    assert starts
    assert all(isinstance(s, datetime) for s in starts)


async def test_appraisal_over_http_counts_in_the_annual_report(client: Any, world: World, session: AsyncSession,
                                                               db: Runtime) -> None:
    start, end = TODAY - timedelta(days=200), TODAY - timedelta(days=10)
    dep = await make_deployment(session, world.expert_a2, world.hospital_a, agreement=world.agreement_a,
                                starts_on=start, actual_end=end, status="ended", department="麻醉科")
    await add_entry(session, dep, start + timedelta(days=3), "clinic", {"session": "am", "patients_first_visit": 11})
    await session.commit()
    base = f"/api/v1/deployments/{dep.id}/appraisals"
    me, sup_h, hr_h = [await world.headers(client, w) for w in ("expert_a2", "supervisor_a", "hr")]
    r = await client.post(f"{base}/self-assessment", headers=me,
                          json={"period_start": str(start), "self_assessment": "完成麻醉科带教。"})
    assert (r.status_code, r.json()["state"]) == (201, "self_assessed")
    r = await client.post(f"{base}/{start}/countersign", headers=hr_h, json={})
    assert (r.status_code, r.json()["reason"]) == (409, "countersign_not_allowed")
    r = await client.post(f"{base}/{start}/rating", headers=sup_h, json={"rating": "excellent", "comment": "优秀"})
    assert (r.status_code, r.json()["figures"]["approved"]["patients"]) == (200, 11)
    r = await client.post(f"{base}/{start}/countersign", headers=hr_h, json={"comment": "同意"})
    assert (r.status_code, r.json()["state"]) == (200, "countersigned")
    r = await client.post(f"{base}/{start}/rating", headers=sup_h, json={"rating": "qualified", "comment": "改"})
    assert (r.status_code, r.json()["type"]) == (409, "urn:fieldlog:problem:locked")
    pdf = await _check_pdf(db, session, await client.get(f"{base}/{start}/files/pdf", headers=hr_h), "appraisal")
    text = "".join(page_texts(pdf))
    assert "派驻期满考核鉴定表" in text
    assert "考核等级:优秀" in text
    report = (await client.get(f"/api/v1/reports/agreements/{world.agreement_a.id}", headers=hr_h,
                               params={"year": end.year})).json()
    assert report["ratings"] == {"excellent": 1, "qualified": 0, "unqualified": 0, "final": 1, "in_progress": 0}
