"""Pure rules of the evidence export: codes, who may export, what an entry line shows, safe spreadsheet cells."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from backend.api.exports import content_disposition
from backend.documents import codes
from backend.documents.cells import safe_cell
from backend.documents.content import (
    ExpertHeader,
    SurgeryCount,
    WorkloadFigures,
    format_number,
    key_figures,
    months_between,
)
from backend.export.evidence import Evidence
from backend.export.schemas import ExportCreate
from backend.export.service import check_period
from backend.export.tables import surgery_matrix


def test_new_codes_are_twelve_crockford_characters_and_differ() -> None:
    made = {codes.new_code() for _ in range(200)}
    assert len(made) == 200
    assert all(codes.normalise(c) == c for c in made)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7k3m-q9tx-2hrd", "7K3MQ9TX2HRD"),
        (" 7K3M Q9TX 2HRD ", "7K3MQ9TX2HRD"),
        ("OIL0-0000-0000", "0110" + "0" * 8),  # O read as 0, I and L as 1, as printed pages get copied
    ],
)
def test_a_code_copied_from_paper_is_read_back(typed: str, expected: str) -> None:
    assert codes.normalise(typed) == expected


@pytest.mark.parametrize("typed", ["", "ABC", "7K3M-Q9TX-2HRDX", "7K3M-Q9TX-2HRU", "../../etc"])
def test_something_that_cannot_be_a_code_is_refused(typed: str) -> None:
    assert codes.normalise(typed) is None


def test_display_groups_by_four() -> None:
    assert codes.display("7K3MQ9TX2HRD") == "7K3M-Q9TX-2HRD"


def test_entry_line_uses_chinese_labels_and_leaves_patient_details_out() -> None:
    line = key_figures(
        "surgery",
        {
            "procedure_name": "阑尾切除术",
            "grade": "grade_2",
            "role": "supervising",
            "first_case_of_new_technique": True,
            "patient_age": 54,
            "patient_sex": "male",
            "patient_record_number": "ab12",
            "duration_minutes": 60,
        },
    )
    assert line == "手术名称:阑尾切除术;手术分级:二级;本人角色:指导;手术时长:60分钟;本院首例新技术:是"


def test_entry_line_names_the_trainee_and_skips_long_free_text() -> None:
    line = key_figures(
        "mentoring", {"trainee_id": str(uuid.uuid4()), "goals": "x" * 100, "hours": 1.0}, trainee_name="李四"
    )
    assert line == "带教对象:李四;学时:1小时"


def test_long_entry_lines_are_cut() -> None:
    line = key_figures("new_technique", {"name": "术" * 200})
    assert len(line) == 200
    assert line.endswith("…")


def test_months_between_covers_the_turn_of_the_year() -> None:
    assert months_between(date(2024, 11, 30), date(2025, 2, 1)) == [
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
    ]
    assert months_between(date(2025, 3, 1), date(2025, 3, 31)) == ["2025-03"]


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+86", "'+86"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("手术", "手术"),
        ("", ""),
    ],
)
def test_text_never_becomes_a_spreadsheet_formula(text: str, safe: str) -> None:
    assert safe_cell(text) == safe


def test_numbers_print_without_trailing_zeros() -> None:
    assert [format_number(12.0), format_number(2.5), format_number(0.25), format_number(7)] == [
        "12",
        "2.5",
        "0.25",
        "7",
    ]


def _create(date_from: date, date_to: date, formats: list[str] | None = None) -> ExportCreate:
    return ExportCreate(
        expert_id=uuid.uuid4(), date_from=date_from, date_to=date_to, formats=formats or ["pdf"]
    )  # type: ignore[arg-type]


def test_period_must_not_run_backwards_or_exceed_ten_years() -> None:
    assert check_period(_create(date(2025, 1, 1), date(2025, 1, 1))) == []
    assert [e.code for e in check_period(_create(date(2025, 2, 1), date(2025, 1, 1)))] == ["before_start"]
    assert [e.code for e in check_period(_create(date(2010, 1, 1), date(2025, 1, 1)))] == ["too_long"]
    assert [e.code for e in check_period(_create(date(2025, 1, 1), date(2025, 2, 1), ["pdf", "pdf"]))] == [
        "duplicate"
    ]


def test_surgery_matrix_has_every_grade_and_role_and_totals() -> None:
    evidence = Evidence(
        expert=ExpertHeader(
            id=uuid.uuid4(),
            name="x",
            title=None,
            specialty=None,
            home_institution=None,
            home_institution_id=None,
        ),
        date_from=date(2025, 1, 1),
        date_to=date(2025, 1, 31),
        deployments=[],
        totals=WorkloadFigures(),
        months=[],
        by_type=[],
        surgeries=[
            SurgeryCount(grade="grade_3", grade_label="三级", role="primary", role_label="主刀", count=2),
            SurgeryCount(
                grade="grade_4", grade_label="四级", role="demonstrating", role_label="示教", count=1
            ),
        ],
        entries=[],
        pending_count=0,
        issued_at=datetime.now(UTC),
        verification_code="0" * 12,
        verify_url="x",
    )
    rows = surgery_matrix(evidence)
    assert rows[0] == ["手术分级", "主刀", "第一助手", "指导", "示教", "合计"]
    assert rows[3] == ["三级", "2", "0", "0", "0", "2"]
    assert rows[-1] == ["合计", "2", "0", "0", "1", "3"]


def test_download_names_carry_chinese_with_an_ascii_fallback() -> None:
    header = content_disposition("派驻工作量证明_张三_2025-01-01_2025-12-31.pdf")
    assert header.startswith("attachment; filename=\"fieldlog-export.pdf\"; filename*=UTF-8''%E6%B4%BE")
