"""Tamper-evident hash chain over audit events: canonical JSON, digests, sealing and verification.

Each event's hash covers every other field of the event, including its seq and the previous event's
hash, so editing, removing or reordering an event breaks the chain at or right after that event.
Removing the newest events leaves a shorter valid chain; only an anchor (the seq and hash of a recent
event, kept somewhere the database's writers cannot change) catches that, so `verify_chain` takes one.

The bytes of `canonical_json` are part of every stored hash: changing how a value is encoded here
makes every existing chain fail verification, so such a change needs a new chain, not an edit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any, Final, Literal
from uuid import UUID

import msgspec

GENESIS_HASH: Final = "0" * 64

ProblemKind = Literal["hash_mismatch", "broken_link", "seq_gap", "seq_order", "anchor_mismatch"]


def canonical_json(obj: object) -> bytes:
    """Encode `obj` as deterministic JSON: sorted keys, no whitespace, UUID/date/datetime/Decimal as strings.

    Datetimes must be timezone-aware and are written in UTC, so the same instant read back from
    PostgreSQL (which returns UTC) encodes to the same bytes. Sets are sorted. NaN, infinities,
    naive datetimes, non-string keys and unknown types raise rather than encode ambiguously.
    """
    return msgspec.json.encode(_plain(obj))


def record_digest(obj: object | None) -> str | None:
    """SHA-256 hex of the record's canonical JSON; None when there is no record (before a create, after a delete)."""
    if obj is None:
        return None
    return hashlib.sha256(canonical_json(obj)).hexdigest()


class AuditRecord(msgspec.Struct, kw_only=True, frozen=True):
    """What happened: who, when, from where, to which object, and digests of it before and after."""

    occurred_at: datetime
    actor_id: UUID | None
    actor_role: str | None
    action: str
    object_type: str
    object_id: str
    request_id: str | None = None
    origin: str | None = None
    before_digest: str | None = None
    after_digest: str | None = None
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


class AuditEvent(AuditRecord, kw_only=True, frozen=True):
    """An audit record placed in the chain: its position, the previous event's hash and its own."""

    seq: int
    prev_hash: str
    hash: str


class Checkpoint(msgspec.Struct, kw_only=True, frozen=True):
    """A trusted point of the chain: the seq and hash of one event (seq 0 is the genesis)."""

    seq: int
    hash: str


GENESIS: Final = Checkpoint(seq=0, hash=GENESIS_HASH)


class ChainProblem(msgspec.Struct, kw_only=True, frozen=True):
    """One thing wrong with the chain, at the event with this seq."""

    seq: int
    kind: ProblemKind
    message: str


_RECORD_FIELDS: Final = tuple(field.name for field in msgspec.structs.fields(AuditRecord))


def event_hash(prev_hash: str, *, seq: int, record: AuditRecord) -> str:
    """SHA-256 hex over every field of the event except `hash`: the record's fields, `seq` and `prev_hash`."""
    payload: dict[str, object] = {name: getattr(record, name) for name in _RECORD_FIELDS}
    payload["seq"] = seq
    payload["prev_hash"] = prev_hash
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def seal(record: AuditRecord, *, seq: int, prev_hash: str) -> AuditEvent:
    """Place `record` in the chain after the event whose hash is `prev_hash`.

    `detail` is stored in its plain JSON form (UUIDs and dates as strings) so that what is saved
    is exactly what was hashed, and the hash still holds after a round trip through the database.
    """
    plain = msgspec.structs.replace(record, detail=_plain(record.detail))
    fields = {name: getattr(plain, name) for name in _RECORD_FIELDS}
    return AuditEvent(**fields, seq=seq, prev_hash=prev_hash, hash=event_hash(prev_hash, seq=seq, record=plain))


def verify_chain(
    events: Iterable[AuditEvent], *, start: Checkpoint = GENESIS, anchor: Checkpoint | None = None
) -> list[ChainProblem]:
    """Every problem in `events` (given in seq order, following `start`), each at the event where it shows.

    Streams the events, so the whole trail need not fit in memory. With `anchor`, the chain must
    still hold that event unchanged, which catches events removed from or rewritten at the end.
    """
    problems: list[ChainProblem] = []
    prev_seq, prev_hash, highest = start.seq, start.hash, start.seq
    anchor_seen = False
    for event in events:
        seq = event.seq
        if seq <= highest:
            problems.append(
                ChainProblem(
                    seq=seq,
                    kind="seq_order",
                    message=f"event {seq} comes after event {prev_seq}: events reordered or seq repeated",
                )
            )
        elif seq > highest + 1:
            missing = f"event {highest + 1} is" if seq == highest + 2 else f"events {highest + 1}-{seq - 1} are"
            problems.append(ChainProblem(seq=seq, kind="seq_gap", message=f"event {seq}: {missing} missing before it"))
        if event.prev_hash != prev_hash:
            before = f"event {prev_seq}" if prev_seq else "the genesis"
            problems.append(
                ChainProblem(
                    seq=seq,
                    kind="broken_link",
                    message=(
                        f"event {seq}: prev_hash does not match the hash of {before}: "
                        "an event was removed, reordered or rewritten"
                    ),
                )
            )
        if event_hash(event.prev_hash, seq=seq, record=event) != event.hash:
            problems.append(
                ChainProblem(
                    seq=seq, kind="hash_mismatch", message=f"event {seq}: hash does not match its contents: edited"
                )
            )
        if anchor is not None and seq == anchor.seq:
            anchor_seen = True
            if event.hash != anchor.hash:
                problems.append(
                    ChainProblem(
                        seq=seq,
                        kind="anchor_mismatch",
                        message=f"event {seq}: hash differs from the anchor recorded for it: rewritten",
                    )
                )
        prev_seq, prev_hash, highest = seq, event.hash, max(highest, seq)
    if anchor is not None and not anchor_seen:
        problems.append(
            ChainProblem(
                seq=anchor.seq,
                kind="anchor_mismatch",
                message=f"event {anchor.seq} is anchored but the chain ends at event {highest}: events removed",
            )
        )
    return problems


def _plain(value: object) -> Any:
    # The exact JSON types first, tested by type identity (a StrEnum's type is not str): sync pushes hash every
    # entry's content, and the general checks below (the ABCs most of all) cost ~90 us an entry. Same bytes.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return _plain_mapping(value)  # type: ignore[arg-type]
    if kind is list:
        return [_plain(item) for item in value]  # type: ignore[attr-defined]
    # Order matters: bool before int is harmless, but datetime must come before date (a subclass)
    # and Enum before str/int (StrEnum and IntEnum are both).
    if isinstance(value, Enum):
        return _plain(value.value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        # msgspec would write NaN as null, which would make two different records hash alike.
        if not math.isfinite(value):
            raise ValueError(f"cannot encode non-finite float {value!r}")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode non-finite decimal {value!r}")
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(f"cannot encode naive datetime {value!r}: its instant is unknown")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, msgspec.Struct):
        return _plain(msgspec.structs.asdict(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain({field.name: getattr(value, field.name) for field in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        return _plain_mapping(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        # Iteration order of a set depends on the hash seed; sort by the encoded items instead.
        return [_plain(item) for item in sorted(value, key=canonical_json)]
    raise TypeError(f"cannot encode {type(value).__name__} in canonical JSON")


def _plain_mapping(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in mapping.items():
        if type(key) is str and key not in out:
            out[key] = _plain(item)
            continue
        if isinstance(key, (Enum, UUID)):
            key = _plain(key)
        if not isinstance(key, str):
            raise TypeError(f"cannot encode key {key!r}: JSON object keys are strings")
        if key in out:
            raise ValueError(f"key {key!r} appears twice once encoded")
        out[key] = _plain(item)
    # Sorted here rather than by the encoder, so the order is the one this module defines.
    return dict(sorted(out.items()))
