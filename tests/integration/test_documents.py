"""The issued evidence documents on a real PostgreSQL: embedded fonts, the signature, the QR code on every
page, the committee's layout, service days under the rules in force, typed XLSX cells, CSV with BOM."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents import signing
from backend.documents.codes import display, new_code
from backend.export import produce, service_days
from backend.export.evidence import Evidence
from backend.models import Appraisal, Entry, ExportJob
from backend.runtime import Runtime
from backend.service_time import ServiceRules
from tests.factories import make_deployment
from tests.pdf_checks import (
    assert_every_font_embedded,
    page_count,
    page_texts,
    qr_texts,
    save_screenshot,
    validate_signature,
)

PERIOD = (date(2025, 3, 1), date(2025, 3, 31))
APPROVED_AT = datetime(2025, 4, 2, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai


async def add(session: AsyncSession, world: Any, dep: Any, day: date, kind: str, fields: dict[str, Any]) -> Entry:
    entry = Entry(
        id=uuid.uuid4(), expert_id=world.expert_a.id, deployment_id=dep.id, institution_id=dep.recipient_id,
        work_date=day, activity_type=kind, fields=fields, content_hash="0" * 64, status="approved",
        reviewed_by=world.supervisor_a.id, reviewed_at=APPROVED_AT,
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass
class Issued:
    evidence: Evidence
    pdf: bytes
    xlsx: bytes
    csv: bytes


async def issue(db: Runtime, session: AsyncSession, world: Any, *, entries: int = 0) -> Issued:
    """A March 2025 stay at hospital B with attendance (2 present, 1 travel, 1 leave), surgeries and a clinic
    per day; `entries` extra clinic entries make the detail run over several pages."""
    dep = await make_deployment(
        session, world.expert_a, world.hospital_b, starts_on=date(2025, 3, 1), actual_end=date(2025, 3, 31),
        status="ended",
    )
    for day, status in ((3, "present"), (4, "present"), (5, "travel"), (6, "leave")):
        await add(session, world, dep, date(2025, 3, day), "attendance", {"status": status})
    await add(session, world, dep, date(2025, 3, 3), "surgery",
              {"procedure_name": "腹腔镜胆囊切除术", "grade": "grade_3", "role": "primary"})
    await add(session, world, dep, date(2025, 3, 4), "surgery",
              {"procedure_name": "疝修补术", "grade": "grade_2", "role": "assistant"})
    # A countersigned appraisal of the stay is stated; one still waiting for HR's countersignature is not.
    session.add(Appraisal(
        deployment_id=dep.id, period_start=date(2025, 3, 1), period_end=date(2025, 3, 31), state="countersigned",
        self_assessment="完成带教任务", rating="excellent", rated_by=world.supervisor_a.id, rated_at=APPROVED_AT,
        countersigned_by=world.hr.id, countersigned_at=APPROVED_AT,
    ))
    session.add(Appraisal(
        deployment_id=world.deployment_a.id, period_start=date(2025, 3, 1), period_end=date(2025, 3, 20),
        state="rated", self_assessment="x", rating="unqualified", rated_by=world.supervisor_a.id, rated_at=APPROVED_AT,
    ))
    for i in range(entries):
        await add(session, world, dep, date(2025, 3, 1 + i % 28), "clinic",
                  {"session": "am", "patients_first_visit": 3, "patients_follow_up": 1})
    job = ExportJob(
        id=uuid.uuid4(), expert_id=world.expert_a.id, requested_by=world.hr.id, date_from=PERIOD[0],
        date_to=PERIOD[1], formats=["pdf", "xlsx", "csv"], status="running", progress=5,
        verification_code=new_code(),
    )
    session.add(job)
    await session.commit()
    evidence = await produce.load_evidence(session, job, db.settings)
    rendered = await asyncio.gather(
        *(asyncio.to_thread(produce.render, fmt, evidence, db.settings) for fmt in ("pdf", "xlsx", "csv"))
    )
    return Issued(evidence, *rendered)


@pytest.fixture
async def issued(db: Runtime, session: AsyncSession, world: Any) -> Issued:
    return await issue(db, session, world, entries=120)


async def test_every_font_is_embedded(issued: Issued) -> None:
    assert_every_font_embedded(issued.pdf)


async def test_the_signature_is_valid_and_a_flipped_byte_breaks_it(db: Runtime, issued: Issued) -> None:
    root = signing.signer_for(db.settings).signing_cert
    status = await validate_signature(issued.pdf, root)
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.coverage.name == "ENTIRE_FILE"
    # One byte of the first page's text, well before the signature.
    tampered = bytearray(issued.pdf)
    at = issued.pdf.index(b"stream", 1000) + 20
    tampered[at] ^= 0x01
    broken = await validate_signature(bytes(tampered), root)
    assert broken.intact is False
    assert broken.bottom_line is False


async def test_every_page_carries_the_qr_code_code_and_page_of_total(issued: Issued) -> None:
    pages = page_count(issued.pdf)
    assert pages >= 3  # 120 entries do not fit two pages
    texts = page_texts(issued.pdf)
    code = display(issued.evidence.verification_code)
    for number, text in enumerate(texts, start=1):
        assert code in text
        assert f"第 {number} 页 共 {pages} 页" in text.replace("\n", " ") or f"第{number}页共{pages}页" in text
    for index in (0, pages - 1):
        assert qr_texts(issued.pdf, index) == [issued.evidence.verify_url]
    path = save_screenshot(issued.pdf, "evidence")
    assert path.stat().st_size > 10_000


async def test_the_layout_states_what_a_committee_expects(issued: Issued, world: Any) -> None:
    text = "".join(page_texts(issued.pdf))
    for expected in (
        "派驻工作量证明", "专家甲", world.home.name, world.hospital_b.name,  # who, home hospital, where
        "2025-03-01", "2025-03-31",  # when
        "基层服务时间", "累计服务天数", "计算规则:出差日", "计算规则:请假日",  # the one-year rule
        "手术分级", "三级", "主刀", "助手",  # surgeries by grade x role
        "审核甲", "2025-04-02 09:30",  # approver and approval time per entry
        "专家门诊(次)", "在岗考勤(次)",  # totals by activity
        "派驻期满考核鉴定", "优秀", "人事",  # the countersigned appraisal, with who rated and who countersigned
    ):
        assert expected in text, expected
    assert "不合格" not in text  # not countersigned yet: not part of a promotion file


async def test_service_days_follow_the_rules_in_force(db: Runtime, session: AsyncSession, world: Any) -> None:
    issued = await issue(db, session, world)
    service = issued.evidence.service
    assert service is not None
    # present, present, travel count by default; leave does not; days without attendance do not.
    assert (service.counted_days, service.required_days, service.remaining_days) == (3, 365, 362)
    assert service.as_of == PERIOD[1]
    strict = ServiceRules(count_travel_days=False, count_leave_days=False)
    assert (await service_days.service(session, world.expert_a.id, PERIOD[1], strict)).counted_days == 2
    generous = ServiceRules(count_leave_days=True, require_attendance=False)
    # Without the attendance requirement every day of the March stay counts, plus the other stay's days.
    counted = (await service_days.service(session, world.expert_a.id, PERIOD[1], generous)).counted_days
    assert counted >= 31


async def test_xlsx_cells_are_typed_with_a_frozen_header_and_the_summary_first(issued: Issued) -> None:
    book = openpyxl.load_workbook(io.BytesIO(issued.xlsx))
    assert book.sheetnames == ["汇总", "派驻", "按月", "明细"]
    detail = book["明细"]
    assert detail.freeze_panes == "A2"
    first = [c.value for c in detail[2]]
    assert isinstance(first[0], datetime)  # openpyxl reads Excel dates back as datetimes
    assert first[0].date() == date(2025, 3, 1)
    assert detail["A2"].number_format == "yyyy-mm-dd"
    assert first[5] == datetime(2025, 4, 2, 9, 30)  # the approval time, local
    assert detail["F2"].number_format == "yyyy-mm-dd hh:mm"
    assert detail.column_dimensions["C"].width > detail.column_dimensions["A"].width
    months = book["按月"]
    header = [c.value for c in months[1]]
    total = dict(zip(header, [c.value for c in months[months.max_row]], strict=True))
    assert total["月份"] == "合计"
    assert total["手术台次"] == 2
    assert isinstance(total["诊疗人次"], int)
    assert total["诊疗人次"] == 120 * 4
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert summary["累计服务天数"] == 3
    assert summary["统计区间自"] == datetime(2025, 3, 1)
    assert summary["专家门诊(次)"] == 120
    # A Chinese label gets two cells per character: "待审核记录(条,未计入)" must not be cut.
    assert book["汇总"].column_dimensions["A"].width >= 2 * len("待审核记录(条,未计入)")
    stays = book["派驻"]
    assert stays.freeze_panes == "A2"
    assert stays["D2"].value == datetime(2025, 3, 1)


async def test_csv_stays_utf8_with_bom(issued: Issued) -> None:
    assert issued.csv.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(issued.csv.decode("utf-8-sig"))))
    assert rows[0][0] == "日期"
    assert len(rows) - 1 == len(issued.evidence.entries)
