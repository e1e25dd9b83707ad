"""Canonical JSON, record digests and the audit hash chain: a valid chain verifies, tampering is found."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
import pytest

from backend.audit.chain import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    ChainProblem,
    Checkpoint,
    canonical_json,
    event_hash,
    record_digest,
    seal,
    verify_chain,
)
from backend.worklog.states import EntryStatus

ACTOR_ID = UUID("00000000-0000-0000-0000-0000000000b1")
ENTRY_ID = UUID("00000000-0000-0000-0000-0000000000c1")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def record(n: int) -> AuditRecord:
    return AuditRecord(
        occurred_at=T0 + timedelta(minutes=n),
        actor_id=ACTOR_ID,
        actor_role="supervisor",
        action="approve" if n % 2 else "submit",
        object_type="entry",
        object_id=str(ENTRY_ID),
        request_id=f"req-{n}",
        origin="10.0.0.7",
        before_digest=record_digest({"n": n, "status": "submitted"}),
        after_digest=record_digest({"n": n, "status": "approved"}),
        detail={"comment": f"ok {n}", "entry_id": ENTRY_ID, "version": n},
    )


def build_chain(length: int = 5) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev_hash = GENESIS_HASH
    for seq in range(1, length + 1):
        event = seal(record(seq), seq=seq, prev_hash=prev_hash)
        events.append(event)
        prev_hash = event.hash
    return events


def kinds_at(problems: list[ChainProblem]) -> list[tuple[int, str]]:
    return [(problem.seq, problem.kind) for problem in problems]


# canonical_json and record_digest


def test_canonical_json_sorts_keys_at_every_level_without_whitespace() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": None}}) == b'{"a":{"c":null,"d":[1,2]},"b":1}'


def test_canonical_json_writes_uuid_date_datetime_decimal_as_strings() -> None:
    value = {"id": ENTRY_ID, "day": date(2025, 3, 1), "at": T0, "hours": Decimal("1.50"), "status": EntryStatus.draft}
    assert json.loads(canonical_json(value)) == {
        "at": "2025-03-01T09:00:00+00:00",
        "day": "2025-03-01",
        "hours": "1.50",
        "id": str(ENTRY_ID),
        "status": "draft",
    }


def test_same_instant_in_another_timezone_encodes_the_same() -> None:
    beijing = T0.astimezone(timezone(timedelta(hours=8)))
    assert canonical_json({"at": beijing}) == canonical_json({"at": T0})


def test_sets_encode_in_a_fixed_order() -> None:
    assert canonical_json({"roles": frozenset({"hr", "admin", "expert"})}) == b'{"roles":["admin","expert","hr"]}'


def test_structs_encode_like_their_fields() -> None:
    class Thing(msgspec.Struct, kw_only=True):
        b: int
        a: UUID

    assert canonical_json(Thing(b=1, a=ENTRY_ID)) == canonical_json({"a": str(ENTRY_ID), "b": 1})


def test_canonical_json_is_stable_across_a_json_round_trip() -> None:
    value = {"id": ENTRY_ID, "at": T0, "hours": Decimal("2.5"), "tags": ["a", "b"], "nested": {"z": 1, "y": 0.25}}
    assert canonical_json(json.loads(canonical_json(value))) == canonical_json(value)


@pytest.mark.parametrize(
    "value",
    [
        {"at": datetime(2025, 3, 1, 9, 0)},  # noqa: DTZ001 - the naive datetime is the point
        {"x": float("nan")},
        {"x": float("inf")},
        {"x": Decimal("NaN")},
        {1: "int key"},
        {"x": object()},
    ],
    ids=["naive-datetime", "nan", "inf", "decimal-nan", "int-key", "unknown-type"],
)
def test_ambiguous_values_are_refused(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical_json(value)


def test_record_digest_is_sha256_of_canonical_json() -> None:
    entry = {"id": ENTRY_ID, "status": "approved", "patients": 12}
    assert record_digest(entry) == hashlib.sha256(canonical_json(entry)).hexdigest()
    assert record_digest({"patients": 12, "status": "approved", "id": str(ENTRY_ID)}) == record_digest(entry)
    assert record_digest({**entry, "patients": 13}) != record_digest(entry)


def test_no_record_has_no_digest() -> None:
    assert record_digest(None) is None


# The chain


def test_valid_chain_verifies() -> None:
    events = build_chain()
    assert events[0].seq == 1
    assert events[0].prev_hash == GENESIS_HASH
    assert verify_chain(events) == []


def test_empty_chain_verifies() -> None:
    assert verify_chain([]) == []


def test_chain_read_back_from_json_still_verifies() -> None:
    stored = msgspec.json.encode(build_chain())
    assert verify_chain(msgspec.json.decode(stored, type=list[AuditEvent])) == []


def test_sealed_detail_is_what_was_hashed() -> None:
    event = seal(record(1), seq=1, prev_hash=GENESIS_HASH)
    assert event.detail["entry_id"] == str(ENTRY_ID)


# One edit per field of AuditEvent except `hash`: all of them must be covered by the hash.
FIELD_EDITS: list[tuple[str, object]] = [
    ("occurred_at", T0 + timedelta(days=1)),
    ("actor_id", UUID(int=7)),
    ("actor_role", "admin"),
    ("action", "unapprove"),
    ("object_type", "deployment"),
    ("object_id", "other"),
    ("request_id", "req-x"),
    ("origin", "device-9"),
    ("before_digest", None),
    ("after_digest", "f" * 64),
    ("detail", {"comment": "changed"}),
    ("seq", 3),
    ("prev_hash", "1" * 64),
]


def test_field_edits_cover_every_field_but_the_hash() -> None:
    fields = {field.name for field in msgspec.structs.fields(AuditEvent)}
    assert {name for name, _ in FIELD_EDITS} == fields - {"hash"}


@pytest.mark.parametrize(("field", "value"), FIELD_EDITS, ids=[name for name, _ in FIELD_EDITS])
def test_editing_any_field_is_a_hash_mismatch_at_that_event(field: str, value: object) -> None:
    events = build_chain()
    # Event 2 is edited (for `seq`, renumbered 3); the problem must be reported at the edited event.
    events[1] = msgspec.structs.replace(events[1], **{field: value})
    edited_seq = events[1].seq
    assert (edited_seq, "hash_mismatch") in kinds_at(verify_chain(events))


def test_edited_event_is_named() -> None:
    events = build_chain()
    events[2] = msgspec.structs.replace(events[2], action="approve-edited")
    assert kinds_at(verify_chain(events)) == [(3, "hash_mismatch")]


def test_edit_covered_by_a_recomputed_hash_breaks_the_next_link() -> None:
    events = build_chain()
    forged = msgspec.structs.replace(events[2], action="delete")
    events[2] = msgspec.structs.replace(forged, hash=event_hash(forged.prev_hash, seq=3, record=forged))
    problems = verify_chain(events)
    assert kinds_at(problems) == [(4, "broken_link")]
    assert "event 3" in problems[0].message


def test_deleted_event_is_a_gap_and_a_broken_link_at_the_next() -> None:
    events = build_chain()
    del events[2]
    problems = verify_chain(events)
    assert kinds_at(problems) == [(4, "seq_gap"), (4, "broken_link")]
    assert "event 3 is missing" in problems[0].message


def test_deleted_first_event_is_found() -> None:
    events = build_chain()[1:]
    assert kinds_at(verify_chain(events)) == [(2, "seq_gap"), (2, "broken_link")]


def test_swapped_events_are_out_of_order_and_unlinked() -> None:
    events = build_chain()
    events[1], events[2] = events[2], events[1]
    assert kinds_at(verify_chain(events)) == [
        (3, "seq_gap"),
        (3, "broken_link"),
        (2, "seq_order"),
        (2, "broken_link"),
        (4, "broken_link"),
    ]


def test_swapped_seq_numbers_are_found_at_both_events() -> None:
    events = build_chain()
    second, third = events[1], events[2]
    events[1] = msgspec.structs.replace(third, seq=2)
    events[2] = msgspec.structs.replace(second, seq=3)
    assert kinds_at(verify_chain(events)) == [
        (2, "broken_link"),
        (2, "hash_mismatch"),
        (3, "broken_link"),
        (3, "hash_mismatch"),
        (4, "broken_link"),
    ]


def test_repeated_seq_is_out_of_order() -> None:
    events = build_chain()
    events.insert(3, events[2])
    assert (3, "seq_order") in kinds_at(verify_chain(events))


def test_every_problem_is_reported() -> None:
    events = build_chain(8)
    events[1] = msgspec.structs.replace(events[1], origin="elsewhere")
    del events[5]
    assert kinds_at(verify_chain(events)) == [(2, "hash_mismatch"), (7, "seq_gap"), (7, "broken_link")]


def test_verification_resumes_from_a_checkpoint() -> None:
    events = build_chain()
    assert verify_chain(events[2:], start=Checkpoint(seq=2, hash=events[1].hash)) == []
    assert kinds_at(verify_chain(events[2:])) == [(3, "seq_gap"), (3, "broken_link")]


def test_removed_newest_events_need_an_anchor_to_be_found() -> None:
    events = build_chain()
    anchor = Checkpoint(seq=5, hash=events[4].hash)
    assert verify_chain(events[:3]) == []
    assert verify_chain(events, anchor=anchor) == []
    assert kinds_at(verify_chain(events[:3], anchor=anchor)) == [(5, "anchor_mismatch")]


def test_rewritten_newest_event_breaks_its_anchor() -> None:
    events = build_chain()
    anchor = Checkpoint(seq=5, hash=events[4].hash)
    forged = msgspec.structs.replace(events[4], action="delete")
    events[4] = msgspec.structs.replace(forged, hash=event_hash(forged.prev_hash, seq=5, record=forged))
    assert verify_chain(events) == []
    assert kinds_at(verify_chain(events, anchor=anchor)) == [(5, "anchor_mismatch")]


def test_naive_event_time_is_refused_when_sealing() -> None:
    naive = msgspec.structs.replace(record(1), occurred_at=datetime(2025, 3, 1, 9, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        seal(naive, seq=1, prev_hash=GENESIS_HASH)


def _reference_plain(value: object) -> Any:
    """canonical_json's conversion before its fast path for plain JSON types (kept to hold the bytes equal)."""
    import dataclasses
    import math
    from collections.abc import Mapping
    from decimal import Decimal
    from enum import Enum

    if isinstance(value, Enum):
        return _reference_plain(value.value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("non-finite")
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, msgspec.Struct):
        return _reference_plain(msgspec.structs.asdict(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _reference_plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, (Enum, uuid.UUID)):
                key = _reference_plain(key)
            if key in out:
                raise ValueError("twice")
            out[key] = _reference_plain(item)
        return dict(sorted(out.items()))
    if isinstance(value, (list, tuple)):
        return [_reference_plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [_reference_plain(item) for item in sorted(value, key=canonical_json)]
    raise TypeError(type(value).__name__)


def test_canonical_json_bytes_are_those_of_the_general_conversion() -> None:
    """The fast path for plain JSON types writes exactly what every stored hash was computed with."""
    import enum
    import random
    from collections import OrderedDict

    class Colour(enum.StrEnum):
        RED = "red"

    class Level(enum.IntEnum):
        ONE = 1

    rng = random.Random(11)
    leaves: list[Any] = [None, True, False, 0, -7, 2**40, 0.1, -0.0, 1e16, "", "门诊 \u00e9\n\"", Colour.RED, Level.ONE,
                         uuid.UUID(int=5), date(2026, 3, 1), time(8, 30, 1, 500), T0, Decimal("1.50"), frozenset({"b", "a"})]

    def tree(depth: int) -> Any:
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(leaves)
        if rng.random() < 0.5:
            items = {rng.choice(["b", "a", "é", "Z", "aa", "门诊", "k" + str(rng.randint(0, 9))]): tree(depth - 1)
                     for _ in range(rng.randint(0, 5))}
            return OrderedDict(items) if rng.random() < 0.2 else items
        return [tree(depth - 1) for _ in range(rng.randint(0, 4))] if rng.random() < 0.8 else (tree(depth - 1),)

    for _ in range(2000):
        value = tree(4)
        assert canonical_json(value) == msgspec.json.encode(_reference_plain(value))
