"""Pure helpers of review: week and month bounds, checking a batch of decisions, corrections, anchors."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from backend.audit.chain import GENESIS_HASH, ChainProblem, Checkpoint
from backend.audit.verify import VerifyReport, parse_anchor
from backend.audit.writer import origin_of
from backend.auth.principal import Principal
from backend.cli.audit import format_report
from backend.errors import InvalidInput
from backend.http.context import origin_var
from backend.review.corrections import apply_correction, validate_batch
from backend.review.months import month_end, parse_month
from backend.review.queue import pending_days
from backend.review.schemas import Correction, Decision
from backend.review.service import iso_week_bounds


def test_iso_week_runs_monday_to_sunday() -> None:
    assert iso_week_bounds(date(2025, 3, 5)) == (date(2025, 3, 3), date(2025, 3, 9))
    assert iso_week_bounds(date(2025, 3, 3)) == (date(2025, 3, 3), date(2025, 3, 9))
    assert iso_week_bounds(date(2025, 1, 1)) == (date(2024, 12, 30), date(2025, 1, 5))


def test_month_parsing_and_last_day() -> None:
    assert parse_month("2024-02") == date(2024, 2, 1)
    assert month_end(date(2024, 2, 1)) == date(2024, 2, 29)
    assert month_end(date(2025, 12, 1)) == date(2025, 12, 31)
    with pytest.raises(InvalidInput):
        parse_month("2024-13")


def test_pending_days_counts_whole_days() -> None:
    now = datetime(2025, 3, 20, 12, tzinfo=UTC)
    assert pending_days(datetime(2025, 3, 6, 13, tzinfo=UTC), now) == 13
    assert pending_days(None, now) == 0


def _surgery() -> Any:
    return SimpleNamespace(id=uuid.uuid4(), activity_type="surgery", fields={"grade": "grade_2", "role": "primary"},
                           deployment_id=uuid.uuid4(), work_date=date(2025, 3, 1), start_time=None, end_time=None,
                           duration_minutes=None, note=None, location=None, content_hash="x")


def test_a_batch_is_refused_whole_for_missing_comments_and_bad_corrections() -> None:
    surgery = _surgery()
    clinic = SimpleNamespace(activity_type="clinic")
    other = uuid.uuid4()
    decisions = [
        Decision(entry_id=surgery.id, version=1, action="return", comment=" "),
        Decision(entry_id=surgery.id, version=1, action="return", comment="ok", correction=Correction(role="primary")),
        Decision(entry_id=other, version=1, action="approve", correction=Correction(grade="grade_9")),
        Decision(entry_id=uuid.UUID(int=1), version=1, action="approve", correction=Correction(role="primary")),
    ]
    with pytest.raises(InvalidInput) as refused:
        validate_batch(decisions, {surgery.id: surgery, uuid.UUID(int=1): clinic})
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("decisions[0].comment", "required"), ("decisions[1].correction", "approve_only"),
        ("decisions[2].correction.grade", "invalid_choice"), ("decisions[3].correction", "not_surgery")]


def test_a_correction_changes_only_what_differs_and_says_so() -> None:
    entry = _surgery()
    change = apply_correction(entry, Correction(role="first_assistant", grade="grade_2"), [])
    assert change == {"role": {"from": "primary", "to": "first_assistant"}}
    assert entry.fields == {"grade": "grade_2", "role": "first_assistant"}
    assert entry.content_hash != "x"
    assert apply_correction(entry, Correction(role="first_assistant"), []) == {}


def test_anchor_is_seq_colon_hash() -> None:
    assert parse_anchor(f"12:{'a' * 64}") == Checkpoint(seq=12, hash="a" * 64)
    for bad in ("12", f"x:{'a' * 64}", "3:abc"):
        with pytest.raises(ValueError, match="anchor"):
            parse_anchor(bad)


def test_report_names_the_first_wrong_event() -> None:
    ok = VerifyReport(events=3, head=Checkpoint(seq=3, hash="f" * 64), problems=[])
    assert format_report(ok)[0] == f"audit trail: 3 events checked, head 3:{'f' * 64}"
    assert format_report(ok)[-1].startswith("OK")
    bad = VerifyReport(events=3, head=Checkpoint(seq=3, hash=GENESIS_HASH), problems=[
        ChainProblem(seq=2, kind="hash_mismatch", message="event 2: hash does not match its contents: edited")])
    assert format_report(bad)[1] == "  event 2 [hash_mismatch]: event 2: hash does not match its contents: edited"
    assert format_report(bad)[-1] == "FAILED: 1 problem(s); the first wrong event is 2"


def test_origin_names_the_device_and_the_address() -> None:
    phone = Principal(user_id=uuid.uuid4(), username="u", name="n", device_id="phone-1", session_id=None,
                      roles=frozenset({"expert"}))
    token = origin_var.set("10.0.0.1")
    try:
        assert origin_of(phone) == "device phone-1 from 10.0.0.1"
        assert origin_of(None) == "10.0.0.1"
    finally:
        origin_var.reset(token)
    assert origin_of(phone) == "device phone-1"
