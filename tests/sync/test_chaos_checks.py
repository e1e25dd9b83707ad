"""The chaos run's phone-versus-server comparison names every difference and lets none through."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sync.chaos.checks import entry_differences
from sync.client.records import LocalRecord

DEPLOYMENT = uuid.uuid4()


def _row(rid: str, **over: Any) -> dict[str, Any]:
    row = {"id": rid, "version": 2, "status": "draft", "note": "ck1n1", "fields": '{"session": "am"}',
           "work_date": date(2026, 11, 3), "activity_type": "clinic", "deployment_id": DEPLOYMENT}
    return {**row, **over}


def _local(rid: str, state: str = "synced", **over: Any) -> LocalRecord:
    data = {"id": rid, "version": 2, "status": "draft", "note": "ck1n1", "fields": {"session": "am"},
            "work_date": "2026-11-03", "activity_type": "clinic", "deployment_id": str(DEPLOYMENT), "deleted": False}
    return LocalRecord("entry", rid, {**data, **over}, 2, "draft", state)


def test_equal_entries_give_no_difference() -> None:
    assert entry_differences({"a": _row("a")}, {"a": _local("a")}, set()) == {}


def test_a_local_tombstone_of_an_entry_deleted_on_the_server_is_a_difference() -> None:
    # Issue 13: the phone kept the record (synced, deleted flag set) after the server acknowledged the delete.
    found = entry_differences({}, {"a": _local("a", deleted=True, version=None)}, {"a"})
    assert found == {"a": "on the phone (state synced, deleted flag True, vNone draft note 'ck1n1'), "
                          "deleted on the server"}


def test_every_compared_field_is_named_with_both_values() -> None:
    server = {"a": _row("a", version=3, fields='{"session": "pm"}', work_date=date(2026, 11, 4))}
    found = entry_differences(server, {"a": _local("a")}, set())
    assert found == {"a": 'version: server 3 phone 2; fields: server {"session": "pm"} phone {"session": "am"}; '
                          'work_date: server "2026-11-04" phone "2026-11-03"'}


def test_equal_values_but_marked_deleted_or_still_pending_is_a_difference() -> None:
    found = entry_differences({"a": _row("a"), "b": _row("b")},
                              {"a": _local("a", deleted=True), "b": _local("b", state="pending")}, set())
    assert found == {"a": "the phone marks it deleted, the server has it live",
                     "b": "state pending with an empty outbox"}


def test_missing_on_either_side_is_a_difference() -> None:
    found = entry_differences({"a": _row("a")}, {"b": _local("b")}, set())
    assert found == {"a": "on the server v2 draft note 'ck1n1', missing on the phone",
                     "b": "on the phone (state synced, deleted flag False, v2 draft note 'ck1n1'), unknown to the server"}
