"""Pure rules of attachments and entry preconditions: ranges, file names, declarations, If-Match, trainees."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from backend.errors import InvalidInput
from backend.settings import load_settings
from backend.storage.base import content_disposition
from backend.worklog.attachment_schemas import AttachmentCreate
from backend.worklog.attachments import check_declaration, clean_file_name, parse_content_range
from backend.worklog.rules import check_trainee
from mobile_api.entries import PreconditionRequired, parse_if_match

SHA = "a" * 64


@pytest.mark.parametrize(("header", "expected"), [
    (None, (0, 100)), ("", (0, 100)), ("bytes 0-99/100", (0, 100)), ("bytes 40-59/100", (40, 60)),
])
def test_content_range_gives_start_and_end(header: str | None, expected: tuple[int, int]) -> None:
    assert parse_content_range(header, 100) == expected


@pytest.mark.parametrize(("header", "code"), [
    ("bytes=0-99", "invalid_format"), ("bytes 0-99/101", "size_mismatch"), ("bytes 50-40/100", "out_of_range"),
    ("bytes 0-100/100", "out_of_range"), ("bytes */100", "invalid_format"),
])
def test_bad_content_range_names_the_header(header: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_content_range(header, 100)
    assert [(e.field, e.code) for e in caught.value.errors] == [("Content-Range", code)]


@pytest.mark.parametrize(("raw", "clean"), [
    ("签到表.jpg", "签到表.jpg"), ("../../etc/passwd", "passwd"), ("C:\\photos\\a.png", "a.png"),
    ("bad\x00name\n.pdf", "badname.pdf"), ("///", "file"),
])
def test_file_names_lose_paths_and_control_characters(raw: str, clean: str) -> None:
    assert clean_file_name(raw) == clean


def test_declaration_checks_type_and_size_against_settings(tmp_path: Path) -> None:
    settings = load_settings({"FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_ATTACHMENT_MAX_BYTES": "2048"})
    ok = AttachmentCreate(sha256=SHA, size=2048, content_type="Image/JPEG; q=1", file_name="a.jpg")
    assert check_declaration(ok, settings) == ("image/jpeg", [])
    bad = AttachmentCreate(sha256=SHA, size=2049, content_type="text/html", file_name="a.html")
    _, errors = check_declaration(bad, settings)
    assert [(e.field, e.code) for e in errors] == [("content_type", "unsupported_type"), ("size", "too_large")]


def test_content_disposition_keeps_chinese_names() -> None:
    value = content_disposition('签到 "表".jpg')
    assert value.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E7%AD%BE%E5%88%B0%20%22%E8%A1%A8%22.jpg" in value


@pytest.mark.parametrize(("header", "version"), [("3", 3), ('"3"', 3), ('W/"12"', 12), (None, None)])
def test_if_match_names_a_version(header: str | None, version: int | None) -> None:
    assert parse_if_match(header, required=False) == version


def test_if_match_is_required_for_changes() -> None:
    with pytest.raises(PreconditionRequired):
        parse_if_match(None, required=True)
    with pytest.raises(InvalidInput):
        parse_if_match('"abc"', required=True)


def test_mentoring_names_a_trainee_of_the_entrys_hospital() -> None:
    here, there, trainee = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    known = {trainee: here}
    assert check_trainee("mentoring", {"trainee_id": str(trainee)}, here, known) == []
    assert [e.code for e in check_trainee("mentoring", {"trainee_id": str(trainee)}, there, known)] == [
        "unknown_trainee"]
    assert check_trainee("mentoring", {"trainee_id": str(uuid.uuid4())}, here, known)[0].field == "fields.trainee_id"
    assert check_trainee("clinic", {"trainee_id": str(uuid.uuid4())}, here, known) == []


def test_s3_part_size_below_the_s3_minimum_is_refused(tmp_path: Path) -> None:
    from backend.settings import SettingsError

    with pytest.raises(SettingsError, match="FIELDLOG_S3_PART_SIZE"):
        load_settings({"FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_S3_PART_SIZE": str(1024 * 1024)})
