"""The hard rules of sync, with no I/O: which mutations to replay, apply or refuse, and the three-way merge.

Pure so that they are unit-tested in milliseconds; push.py feeds them what it loaded from the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backend.errors import FieldError

# A phone's clock may run a few minutes fast; more than this is refused (the device time is never trusted,
# but a far-future one means every "queued at" the phone reports is meaningless).
MAX_CLOCK_AHEAD = timedelta(minutes=10)

# Keys of an entry's content that a phone edits; `fields` is merged key by key inside.
MERGE_KEYS = ("deployment_id", "work_date", "activity_type", "start_time", "end_time", "duration_minutes", "note",
              "location", "attachments")


@dataclass(frozen=True)
class BatchPlan:
    """How a batch of mutation numbers relates to the device's last acknowledged number."""

    replay: list[int] = field(default_factory=list)
    apply: list[int] = field(default_factory=list)
    gap_at: int | None = None  # the first number that was not applied because numbers were skipped
    expected_seq: int = 1


def batch_shape_errors(seqs: Sequence[int], max_batch: int) -> list[FieldError]:
    """The batch must be at most `max_batch` long with strictly increasing numbers."""
    errors: list[FieldError] = []
    if len(seqs) > max_batch:
        errors.append(FieldError(field="mutations", code="too_many",
                                 message=f"A push holds at most {max_batch} mutations; send the rest in another push"))
    for i in range(1, len(seqs)):
        if seqs[i] <= seqs[i - 1]:
            errors.append(FieldError(field=f"mutations[{i}].seq", code="not_increasing",
                                     message="Mutation numbers must be strictly increasing within a push"))
            break
    return errors


def plan_batch(seqs: Sequence[int], last_ack: int) -> BatchPlan:
    """Exactly once: numbers up to `last_ack` get their stored answer; the next ones apply while contiguous.

    The first skipped number stops the batch (nothing after it is applied) so a lost mutation is never overtaken.
    """
    replay: list[int] = []
    apply: list[int] = []
    expected = last_ack + 1
    for seq in seqs:
        if seq <= last_ack:
            replay.append(seq)
        elif seq == expected:
            apply.append(seq)
            expected += 1
        else:
            return BatchPlan(replay=replay, apply=apply, gap_at=seq, expected_seq=expected)
    return BatchPlan(replay=replay, apply=apply, expected_seq=expected)


def device_time_errors(device_time: datetime | None, now: datetime) -> list[FieldError]:
    """The phone's clock is recorded, never trusted; a naive or far-future one is refused."""
    if device_time is None:
        return []
    if device_time.tzinfo is None or device_time.utcoffset() is None:
        return [FieldError(field="device_time", code="timezone_required",
                           message="The device time must include its UTC offset")]
    if device_time - now > MAX_CLOCK_AHEAD:
        return [FieldError(field="device_time", code="device_clock_in_future",
                           message="The phone's clock is ahead of the server's; correct the phone's time and retry")]
    return []


def clock_skew_ms(device_time: datetime | None, now: datetime) -> int | None:
    """Device clock minus server clock, in milliseconds (positive: the phone runs fast)."""
    if device_time is None or device_time.tzinfo is None:
        return None
    return int((device_time - now).total_seconds() * 1000)


@dataclass(frozen=True)
class MergeResult:
    """The keys the phone changed that can be applied, and the fields changed on both sides differently."""

    changes: dict[str, Any]
    conflicts: list[str]


def _changed(base: Mapping[str, Any], mine: Mapping[str, Any], server: Mapping[str, Any], key: str,
             path: str, changes: dict[str, Any], conflicts: list[str]) -> None:
    if key not in mine or mine[key] == base.get(key):
        return  # the phone did not change it: the server's value stands
    if server.get(key) != base.get(key) and server.get(key) != mine[key]:
        conflicts.append(path)
    else:
        changes[key] = mine[key]


def three_way_merge(base: Mapping[str, Any], server: Mapping[str, Any], mine: Mapping[str, Any]) -> MergeResult:
    """Merge the phone's change (`mine`, only the keys it sent) into the server copy, both descended from `base`.

    All three are in JSON form. Top-level keys and the keys inside `fields` are compared one by one: a value
    changed on one side wins, the same change on both sides is no conflict, different changes on both sides
    are a conflict. The device clock plays no part.
    """
    changes: dict[str, Any] = {}
    conflicts: list[str] = []
    for key in MERGE_KEYS:
        _changed(base, mine, server, key, key, changes, conflicts)
    if isinstance(mine.get("fields"), Mapping):
        base_fields = base.get("fields") or {}
        server_fields = server.get("fields") or {}
        field_changes: dict[str, Any] = {}
        for sub in mine["fields"]:
            _changed(base_fields, mine["fields"], server_fields, sub, f"fields.{sub}", field_changes, conflicts)
        if field_changes:
            merged = dict(server_fields)
            merged.update(field_changes)
            changes["fields"] = merged
    return MergeResult(changes=changes, conflicts=conflicts)
