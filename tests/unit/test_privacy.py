"""Patient-privacy checks: identifiers in free text, and record numbers kept only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from backend.worklog.privacy import (
    find_pii,
    hash_record_number,
    mask_record_number,
    normalise_record_number,
    scan_text_fields,
)

KEY = b"test-record-key-0123456789abcdef"


@pytest.mark.parametrize(
    "text",
    [
        "110105194912310021",
        "11010519491231002X",
        "11010519491231002x",
        "身份证号110105194912310021。",
        "ID: 110105 19491231 0021",
        "440524-20000229-123X",  # a leap day is a real birth date
        "１１０１０５１９４９１２３１００２１",  # full-width digits from a Chinese keyboard
        "患者 51010420991231123X 复查",
    ],
)
def test_things_that_look_like_a_national_id_are_found(text: str) -> None:
    assert find_pii(text) == "national_id"


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "19912345678",
        "电话:13812345678",
        "call 138 1234 5678 tomorrow",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "86-15912345678",
        "0086 15912345678",
        "１３８１２３４５６７８",
        "联系13812345678谢谢",
    ],
)
def test_things_that_look_like_a_mobile_number_are_found(text: str) -> None:
    assert find_pii(text) == "mobile"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "腹腔镜胆囊切除术",
        "51.2301",  # a procedure code
        "47.0100x001",
        "2024-05-01",  # a date
        "20240501",
        "07:55-17:40",
        "1101051949123100211",  # 19 digits: a longer run, not an ID
        "2110105194912310021",
        "110105194913310021",  # month 13 is no birth date
        "110105180012310021",  # born 1800
        "110105194902300021",  # 30 February
        "12812345678",  # 12x is no mobile prefix
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "013812345678",
        "010-62345678",  # a landline
        "住院号 ZY202400123",
        "服务150人，检查120人次，讲座1次",
        "6f1c2f0e-8a4b-4c47-9a31-2f6f3f5d8b10",  # a uuid
    ],
)
def test_ordinary_text_and_numbers_are_not_flagged(text: str) -> None:
    assert find_pii(text) is None


def test_an_id_number_is_reported_before_a_mobile_in_the_same_text() -> None:
    assert find_pii("13812345678 / 110105194912310021") == "national_id"


def test_scan_text_fields_reports_each_field_with_its_path() -> None:
    errors = scan_text_fields(
        {
            "note": "家属电话 13812345678",
            "title": "胸痛中心建设",
            "count": 13812345678,  # numbers are not text; the catalogue bounds numbers instead
            "tags": ["ok", "110105194912310021"],
            "extra": {"remark": "+86 139 1234 5678"},
        },
        prefix="entry",
    )
    assert [(e.field, e.code) for e in errors] == [
        ("entry.note", "personal_data"),
        ("entry.tags.1", "personal_data"),
        ("entry.extra.remark", "personal_data"),
    ]
    assert "mobile phone number" in errors[0].message
    assert "national ID number" in errors[1].message


def test_scan_text_fields_without_prefix_uses_the_bare_name() -> None:
    errors = scan_text_fields({"note": "13812345678"})
    assert [e.field for e in errors] == ["note"]
    assert scan_text_fields({"note": "今天查房三次"}) == []


def test_record_number_hash_is_hmac_sha256_of_the_normalised_number() -> None:
    expected = hmac.new(KEY, b"ZY202400123", hashlib.sha256).hexdigest()
    assert hash_record_number(KEY, "ZY202400123") == expected
    assert len(expected) == 64


@pytest.mark.parametrize(
    "written", ["zy202400123", " ZY-2024-00123 ", "ZY 2024 00123", "ＺＹ２０２４００１２３"]
)
def test_the_same_record_number_written_differently_hashes_alike(written: str) -> None:
    assert normalise_record_number(written) == "ZY202400123"
    assert hash_record_number(KEY, written) == hash_record_number(KEY, "ZY202400123")


def test_record_number_hash_depends_on_the_key() -> None:
    assert hash_record_number(KEY, "123456") != hash_record_number(b"another-key", "123456")
    assert hash_record_number(KEY, "123456") != hash_record_number(KEY, "123457")


def test_hashing_without_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        hash_record_number(b"", "123456")


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("ZY202400123", "****123"),
        ("00123456", "****456"),
        ("1234567", "****67"),
        ("123456", "****56"),
        ("12345", "****"),
        ("7", "****"),
        ("zy-2024-00123", "****123"),
    ],
)
def test_mask_keeps_only_a_short_tail(raw: str, masked: str) -> None:
    assert mask_record_number(raw) == masked
