"""The pure sync rules: numbering, batch shape, clocks, three-way merge, cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sync.server.cursor import Cursor, CursorError, decode_cursor, encode_cursor, snapshot_bounds
from sync.server.rules import (
    batch_shape_errors,
    clock_skew_ms,
    device_time_errors,
    plan_batch,
    three_way_merge,
)

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_numbers_up_to_the_acknowledged_one_are_replayed_and_the_rest_applied() -> None:
    plan = plan_batch([3, 4, 5, 6], last_ack=4)
    assert (plan.replay, plan.apply, plan.gap_at, plan.expected_seq) == ([3, 4], [5, 6], None, 7)


def test_a_skipped_number_stops_the_batch_there() -> None:
    plan = plan_batch([1, 2, 4, 5], last_ack=0)
    assert (plan.apply, plan.gap_at, plan.expected_seq) == ([1, 2], 4, 3)
    assert plan_batch([7], last_ack=2).apply == []


def test_batch_shape() -> None:
    assert batch_shape_errors([1, 2, 3], 3) == []
    assert [e.code for e in batch_shape_errors([1, 2, 3, 4], 3)] == ["too_many"]
    assert [e.field for e in batch_shape_errors([1, 3, 3], 5)] == ["mutations[2].seq"]


def test_clock_rules() -> None:
    assert device_time_errors(NOW + timedelta(minutes=9), NOW) == []
    assert device_time_errors(NOW - timedelta(days=30), NOW) == []  # slow clocks are recorded, not refused
    assert device_time_errors(NOW + timedelta(minutes=11), NOW)[0].code == "device_clock_in_future"
    assert device_time_errors(datetime(2026, 3, 1), NOW)[0].code == "timezone_required"
    assert clock_skew_ms(NOW - timedelta(seconds=2), NOW) == -2000
    assert clock_skew_ms(None, NOW) is None


BASE = {"note": "a", "duration_minutes": 30, "fields": {"session": "am", "patients_first_visit": 10}}


def test_merge_takes_one_sided_changes_from_both_sides() -> None:
    server = {**BASE, "note": "server", "fields": {"session": "am", "patients_first_visit": 11}}
    mine = {"duration_minutes": 45, "fields": {"session": "pm"}}
    result = three_way_merge(BASE, server, mine)
    assert result.conflicts == []
    assert result.changes == {"duration_minutes": 45, "fields": {"session": "pm", "patients_first_visit": 11}}


def test_merge_reports_fields_changed_differently_on_both_sides() -> None:
    server = {**BASE, "note": "server", "fields": {"session": "am", "patients_first_visit": 11}}
    mine = {"note": "phone", "fields": {"patients_first_visit": 12, "session": "am"}}
    assert three_way_merge(BASE, server, mine).conflicts == ["note", "fields.patients_first_visit"]


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    server = {**BASE, "note": "same"}
    result = three_way_merge(BASE, server, {"note": "same"})
    assert result.conflicts == []
    assert result.changes == {"note": "same"}


def test_cursor_round_trip_and_refusals() -> None:
    user = uuid.uuid4()
    cursor = Cursor(user=user, prev="10:12:10,11", catalog="c")
    raw = encode_cursor(cursor, "secret")
    assert decode_cursor(raw, "secret", user) == cursor
    for bad_raw, key, who in ((raw, "other-secret", user), (raw, "secret", uuid.uuid4()), ("%%%", "secret", user),
                              (raw[:-2], "secret", user)):
        with pytest.raises(CursorError):
            decode_cursor(bad_raw, key, who)
    assert snapshot_bounds("10:12:10,11") == (10, 12)
    with pytest.raises(ValueError, match="snapshot"):
        snapshot_bounds("x")
