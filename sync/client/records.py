"""What the phone holds: a queued mutation exactly as it is sent, a local record, and a mutation's local effect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OutboxItem:
    """One queued mutation exactly as it will be sent (and resent)."""

    seq: int
    kind: str
    record_id: str
    base_version: int | None
    data: dict[str, Any]
    queued_at: str

    def wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "record_id": self.record_id, "base_version": self.base_version,
                "data": self.data, "queued_at": self.queued_at}


@dataclass(frozen=True)
class LocalRecord:
    kind: str
    id: str
    data: dict[str, Any]
    server_version: int | None
    status: str | None
    state: str
    server_data: dict[str, Any] | None = None


def apply_local(data: dict[str, Any] | None, item: OutboxItem) -> dict[str, Any] | None:
    """What the user sees after a queued mutation, before the server answers it."""
    if item.kind == "create":
        return {**item.data, "status": "draft", "deleted": False}
    if data is None:
        return None
    if item.kind == "update":
        # `fields` merges key by key, as the server's three-way merge does.
        merged = {**data, **item.data}
        if isinstance(item.data.get("fields"), dict) and isinstance(data.get("fields"), dict):
            merged["fields"] = {**data["fields"], **item.data["fields"]}
        return merged
    if item.kind == "delete":
        return {**data, "deleted": True}
    return {**data, "status": "submitted"}  # submit
