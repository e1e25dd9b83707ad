"""Reading rosters and the back office's pure rules, without a database."""

from __future__ import annotations

import io
import typing
import uuid
from datetime import date

import pytest
from openpyxl import Workbook

from backend import vocab
from backend.admin import cells
from backend.admin import schemas as s
from backend.admin.importer import KINDS
from backend.admin.rules import (
    AgreementFacts,
    agreement_link_errors,
    covering,
    default_targets,
    deployment_errors,
    merge_targets,
    party_errors,
    timezone_error,
)
from backend.admin.tabular import XLSX_TYPE, read_table
from backend.errors import InvalidInput, MalformedRequest, UnsupportedMediaType

USERS = KINDS["users"].columns


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_chinese_headers_with_notes_map_to_canonical_columns() -> None:
    body = "姓名(必填),工号或用户名*,职称,派出医院编码\n张三,zhangsan,主任医师,H001\n".encode()
    table = read_table(body, "text/csv", USERS)
    assert table.columns == ["name", "username", "title", "home_code"]
    assert table.rows == [(2, {"name": "张三", "username": "zhangsan", "title": "主任医师", "home_code": "H001"})]


def test_gbk_csv_from_chinese_excel_is_read() -> None:
    body = "姓名,用户名\n李四,lisi\n".encode("gb18030")
    assert read_table(body, "text/csv", USERS).rows[0][1]["name"] == "李四"


def test_blank_rows_are_skipped_but_row_numbers_stay_those_of_the_sheet() -> None:
    body = b"name,username\n\nA,aaa\n,\nB,bbb\n"
    assert [n for n, _ in read_table(body, "text/csv", USERS).rows] == [3, 5]


def test_unknown_and_missing_columns_are_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_table(b"name,usrname\nA,aaa\n", "text/csv", USERS)
    fields = {e.field: e.code for e in caught.value.errors}
    assert fields == {"columns.usrname": "unknown_column", "columns.username": "required"}


def test_xlsx_numbers_and_dates_come_through() -> None:
    body = xlsx([["username", "recipient_code", "department", "post", "starts_on"],
                 ["zs", 1001, "普外科", "院长", date(2025, 3, 1)]])
    table = read_table(body, XLSX_TYPE, KINDS["deployments"].columns)
    row = table.rows[0][1]
    assert row["recipient_code"] == "1001"
    assert row["starts_on"].date() == date(2025, 3, 1)


def test_a_broken_xlsx_is_malformed_and_other_types_are_refused() -> None:
    with pytest.raises(MalformedRequest):
        read_table(b"PK\x03\x04 not really", XLSX_TYPE, USERS)
    with pytest.raises(UnsupportedMediaType):
        read_table(b"{}", "application/json", USERS)


def test_cells_accept_codes_labels_and_the_usual_spellings() -> None:
    assert cells.choice("title", "主任医师") == "chief_physician"
    assert cells.choice("level", "三甲") == "tertiary_a"
    assert cells.choice("post", "VICE_PRESIDENT") == "vice_president"
    with pytest.raises(cells.CellError):
        cells.choice("title", "教授")
    assert cells.boolean("是") is True
    assert cells.boolean("no") is False
    assert cells.day("2025年3月1日") == cells.day("2025/3/1") == date(2025, 3, 1)
    with pytest.raises(cells.CellError):
        cells.day("2025-02-30")
    assert cells.roles("派驻专家、supervisor：H01") == [("expert", None), ("supervisor", "H01")]


def test_wire_choices_equal_the_vocabulary() -> None:
    pairs = [(s.InstitutionKind, vocab.INSTITUTION_KINDS), (s.InstitutionLevel, vocab.INSTITUTION_LEVELS),
             (s.Programme, vocab.PROGRAMMES), (s.Title, vocab.TITLES), (s.Role, vocab.ROLES), (s.Post, vocab.POSTS),
             (s.DeploymentStatus, vocab.DEPLOYMENT_STATUSES)]
    for literal, words in pairs:
        assert typing.get_args(literal) == tuple(words)


def test_national_targets_with_fewer_staff_for_tcm() -> None:
    assert default_targets(False)["min_staff"] == 5
    assert default_targets(True)["min_staff"] == 3
    assert merge_targets({"min_trainees": 5, "min_staff": None}, True) == {
        "min_staff": 3, "min_leaders": 1, "min_continuous_months": 6, "min_trainees": 5, "min_new_techniques": 0,
        "full_year_coverage": True}


def test_agreement_parties_and_timezones() -> None:
    assert party_errors("supporting_hospital", "county_hospital") == []
    assert [e.code for e in party_errors("county_hospital", "supporting_hospital")] == ["not_supporting", "not_recipient"]
    assert timezone_error("Asia/Urumqi") is None
    assert timezone_error("China/Beijing") is not None


def test_deployment_dates_and_ended_status() -> None:
    assert deployment_errors(date(2025, 1, 1), date(2025, 6, 30), None, "active") == []
    codes = [e.code for e in deployment_errors(date(2025, 1, 1), date(2024, 6, 30), None, "ended")]
    assert codes == ["before_start", "required"]


def test_agreement_link_requires_same_recipient_same_home_and_period() -> None:
    home, other, rec = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    agr = AgreementFacts(uuid.uuid4(), home, rec, date(2025, 1, 1), date(2025, 12, 31))
    assert agreement_link_errors(agr, recipient_id=rec, home_id=home, starts_on=date(2025, 3, 1)) == []
    errors = agreement_link_errors(agr, recipient_id=uuid.uuid4(), home_id=other, starts_on=date(2026, 1, 1))
    assert [e.code for e in errors] == ["other_recipient", "other_home", "outside_agreement"]
    later = AgreementFacts(uuid.uuid4(), home, rec, date(2025, 6, 1), None)
    assert covering([agr], recipient_id=rec, home_id=home, starts_on=date(2025, 3, 1)) == agr
    assert covering([agr, later], recipient_id=rec, home_id=home, starts_on=date(2025, 7, 1)) is None
