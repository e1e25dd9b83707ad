"""What a pull sends for deployments and refused mutations, loaded in bulk on the raw connection and always
through the caller's scope (entries: pull_entries.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from backend.auth.principal import Principal
from backend.worklog.rules import editable_window
from sync.server.protocol import PullChange


def _mutation_key(record_id: str) -> tuple[str, int] | None:
    device_id, _, seq = record_id.rpartition(":")
    return (device_id, int(seq)) if device_id and seq.isdigit() else None


def _raw(text: str | None) -> msgspec.Raw | None:
    return None if text is None else msgspec.Raw(text.encode())


def _deployment_data(row: Any, grace_days: int) -> dict[str, Any]:
    first, last = editable_window(row["starts_on"], row["planned_end"], row["actual_end"], grace_days)
    return {
        "id": row["id"], "expert_id": row["expert_id"], "recipient_id": row["recipient_id"],
        "recipient_name": row["name"], "timezone": row["timezone"], "department": row["department"],
        "post": row["post"], "starts_on": row["starts_on"], "planned_end": row["planned_end"],
        "actual_end": row["actual_end"], "status": row["status"], "editable_from": first, "editable_until": last,
    }


# Only the caller's own deployments ($1): a supervisor's phone holds entries at their hospitals, not the
# deployments of other experts.
_DEPLOYMENTS = """
SELECT d.id, d.expert_id, d.recipient_id, i.name, i.timezone, d.department, d.post, d.starts_on, d.planned_end,
       d.actual_end, d.status
FROM deployments d JOIN institutions i ON i.id = d.recipient_id
WHERE d.expert_id = $1
"""
_DEPLOYMENTS_BY_ID = _DEPLOYMENTS + " AND d.id = ANY($2::uuid[])"
_DEPLOYMENTS_PAGE = _DEPLOYMENTS + " AND d.id > $2 ORDER BY d.id LIMIT $3"


async def deployment_changes(raw: Any, principal: Principal, ids: Sequence[uuid.UUID] | None, grace_days: int, *,
                             after: str | None = None, limit: int | None = None) -> dict[str, PullChange]:
    """The caller's own deployments (by id, or all of them in id order from `after`, `limit` at most)."""
    if ids is not None:
        if not ids:
            return {}
        rows = await raw.fetch(_DEPLOYMENTS_BY_ID, principal.user_id, list(ids))
    else:
        rows = await raw.fetch(_DEPLOYMENTS_PAGE, principal.user_id, uuid.UUID(after) if after else uuid.UUID(int=0),
                               limit if limit is not None else 2**31 - 1)
    return {str(r["id"]): PullChange(kind="deployment", id=str(r["id"]), op="upsert",
                                     data=_deployment_data(r, grace_days)) for r in rows}


def _mutation_data(row: Any) -> dict[str, Any]:
    # result and payload go out as the JSON text PostgreSQL holds, never decoded and encoded again.
    return {"device_id": row["device_id"], "seq": row["seq"], "kind": row["kind"], "record_id": row["record_id"],
            "outcome": row["outcome"], "result": _raw(row["result"]), "payload": _raw(row["payload"]),
            "quarantined": row["quarantined"], "created_at": row["created_at"]}


# The caller's ($1) refused mutations only.
_MUTATIONS = """
SELECT device_id, seq, kind, record_id, outcome, result::text AS result, payload::text AS payload, quarantined,
       created_at
FROM sync_mutations WHERE user_id = $1 AND outcome = 'rejected'
"""
_MUTATIONS_BY_KEY = _MUTATIONS + " AND (device_id, seq) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))"  # noqa: S608
_MUTATIONS_PAGE = _MUTATIONS + " AND (device_id, seq) > ($2::text, $3::bigint) ORDER BY device_id, seq LIMIT $4"


async def mutation_changes(raw: Any, principal: Principal, record_ids: Sequence[str] | None, *,
                           after: str | None = None, limit: int | None = None) -> dict[str, PullChange]:
    """The caller's rejected mutations (by feed id `device:seq`, or all in order from `after`, `limit` at most)."""
    if record_ids is not None:
        keys = [k for k in (_mutation_key(r) for r in record_ids) if k is not None]
        if not keys:
            return {}
        rows = await raw.fetch(_MUTATIONS_BY_KEY, principal.user_id, [k[0] for k in keys], [k[1] for k in keys])
    else:
        key = _mutation_key(after) if after else None
        rows = await raw.fetch(_MUTATIONS_PAGE, principal.user_id, *(key or ("", 0)),
                               limit if limit is not None else 2**31 - 1)
    result = {}
    for row in rows:
        rid = f"{row['device_id']}:{row['seq']}"
        result[rid] = PullChange(kind="mutation", id=rid, op="upsert", data=_mutation_data(row))
    return result
