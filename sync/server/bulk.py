"""Creates, set-based: a run of create mutations is validated in Python and written with one statement.

Only what cannot be decided up front (a row another transaction inserted meanwhile) falls back to the
per-mutation path, which runs in its own savepoint. Every answer comes from rows in this transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import FieldError
from backend.models import Entry
from backend.settings import Settings
from backend.worklog.schemas import EntryCreate
from backend.worklog.service import (
    CONTENT_KEYS,
    EntryContext,
    content_from_create,
    content_hash,
    validate_content,
)
from backend.worklog.views import entry_views, month_start
from sync.server.answers import applied, rejected
from sync.server.context import PushContext
from sync.server.convert import convert_error, id_mismatch
from sync.server.protocol import Mutation, MutationResult

log = logging.getLogger("fieldlog.sync")

# One round trip writes the rows, their first versions, their attachment names and the feed: the versions,
# attachments and feed rows join on what the entries insert returned, so a row skipped by ON CONFLICT (another
# transaction wrote that id meanwhile) gets nothing, and the caller decides it one by one. The feed part is
# backend.feed's touch, inlined to save a round trip. The batch travels as one JSON document ($3, $4): msgspec
# writes it in one call, where eighteen parameter arrays cost asyncpg a type check and an encoding per value.
_INSERT = """
WITH t AS (
    SELECT * FROM json_to_recordset($3::text::json)
        AS t(i uuid, d uuid, inst uuid, w date, a text, f jsonb, st time, et time, dm int, n text, l jsonb, h text,
             dt timestamptz, s jsonb)
), ins AS (
    INSERT INTO entries (id, expert_id, deployment_id, institution_id, work_date, activity_type, fields, start_time,
                         end_time, duration_minutes, note, location, status, version, content_hash, device_id,
                         device_time, quarantined, created_at, updated_at)
    SELECT i, $1, d, inst, w, a, f, st, et, dm, n, l, 'draft', 1, h, $2, dt, false, now(), now() FROM t
    ON CONFLICT DO NOTHING
    RETURNING id
), versions AS (
    INSERT INTO entry_versions (entry_id, version, snapshot, changed_by, change, changed_at)
    SELECT t.i, 1, t.s, $1, 'create', now() FROM t JOIN ins ON ins.id = t.i
), files AS (
    INSERT INTO entry_attachments (entry_id, sha256)
    SELECT f.i, f.h FROM json_to_recordset($4::text::json) AS f(i uuid, h text) JOIN ins ON ins.id = f.i
), touched AS (
    INSERT INTO sync_feed (user_id, kind, record_id, xid, op, changed_at)
    SELECT $1, 'entry', ins.id::text, pg_current_xact_id()::text::bigint, 'upsert', now() FROM ins
    ON CONFLICT (user_id, kind, record_id)
    DO UPDATE SET xid = EXCLUDED.xid, op = EXCLUDED.op, changed_at = EXCLUDED.changed_at
)
SELECT id FROM ins
"""


@dataclass
class _Candidate:
    mutation: Mutation
    data: EntryCreate
    clean: dict[str, Any]
    hash: str


class BulkWriteFailed(Exception):
    """A set-based statement failed: the transaction is aborted and the push is redone one by one."""


def _snapshot(clean: dict[str, Any]) -> dict[str, Any]:
    """The version-1 snapshot, the same document worklog.service.snapshot() writes for a new draft."""
    data = {k: clean[k] for k in CONTENT_KEYS}
    data.update(status="draft", version=1, review_comment=None, revision_of=None)
    return data


async def _attendance_days(raw: Any, expert_id: uuid.UUID, cands: list[_Candidate]) -> set[Any]:
    days = [c.clean["work_date"] for c in cands if c.clean["activity_type"] == "attendance"]
    if not days:
        return set()
    rows = await raw.fetch("SELECT work_date FROM entries WHERE expert_id = $1 AND activity_type = 'attendance' AND "
                           "deleted_at IS NULL AND revision_of IS NULL AND work_date = ANY($2::date[])",
                           expert_id, days)
    return {r[0] for r in rows}


def _parse(mutations: list[Mutation], ctx: EntryContext, results: dict[int, MutationResult]
           ) -> list[tuple[Mutation, EntryCreate, dict[str, Any], list[FieldError]]]:
    parsed = []
    for m in mutations:
        if (wrong_id := id_mismatch(m.record_id, m.data)) is not None:
            results[m.seq] = rejected(m, [wrong_id])
            continue
        try:
            data = msgspec.convert({**m.data, "id": str(m.record_id)}, EntryCreate)
        except msgspec.ValidationError as exc:
            results[m.seq] = rejected(m, [convert_error(exc)])
            continue
        clean, errors = validate_content(content_from_create(data), ctx, device_time=data.device_time)
        parsed.append((m, data, clean, errors))
    return parsed


async def bulk_create(session: AsyncSession, raw: Any, principal: Principal, mutations: list[Mutation],
                      pctx: PushContext, settings: Settings) -> tuple[dict[int, MutationResult], list[Mutation]]:
    """Answers for the creates decided here, and the mutations left for the per-mutation path (in order).

    Optimistic: the valid creates are inserted with ON CONFLICT DO NOTHING, and only ids that were not
    inserted, or creates about to be refused, are looked up (a resent create is a duplicate, or a conflict,
    before it is ever a refusal). A failing statement raises BulkWriteFailed: the caller redoes the push
    with a savepoint per mutation.
    """
    ctx = pctx.entry
    results: dict[int, MutationResult] = {}
    fallback: list[Mutation] = []
    seen: set[uuid.UUID] = set()
    cands: list[_Candidate] = []
    refused: dict[int, MutationResult] = {}  # answers that stand unless the id already exists
    for m, data, clean, errors in _parse(mutations, ctx, results):
        if m.record_id in seen:
            fallback.append(m)  # the same id twice in one batch: decided against the first, after it is written
            continue
        seen.add(m.record_id)
        if errors:
            refused[m.seq] = rejected(m, errors)
        else:
            cands.append(_Candidate(m, data, clean, content_hash(clean)))
    taken_days = await _attendance_days(raw, principal.user_id, cands)
    to_insert: list[_Candidate] = []
    for c in cands:
        inst = ctx.deployments[c.clean["deployment_id"]].institution_id
        if (inst, month_start(c.clean["work_date"])) in pctx.closed:
            refused[c.mutation.seq] = MutationResult(seq=c.mutation.seq, record_id=c.mutation.record_id,
                                                     outcome="locked", reason="month_closed")
        elif c.clean["activity_type"] == "attendance" and c.clean["work_date"] in taken_days:
            refused[c.mutation.seq] = rejected(c.mutation, [FieldError(
                field="work_date", code="attendance_exists",
                message="There is already an attendance record for this day")])
        else:
            if c.clean["activity_type"] == "attendance":
                taken_days.add(c.clean["work_date"])
            to_insert.append(c)
    try:
        inserted = await _insert(raw, principal, to_insert, ctx)
    except asyncpg.PostgresError as exc:
        raise BulkWriteFailed(str(exc)) from exc
    hashes = {c.mutation.seq: c.hash for c in cands}
    by_seq = {m.seq: m for m in mutations}
    unsure = [c.mutation for c in to_insert if c.mutation.record_id not in inserted]
    unsure += [by_seq[seq] for seq in refused]
    existing = {r["id"]: r for r in await raw.fetch(
        "SELECT id, expert_id, content_hash, version FROM entries WHERE id = ANY($1::uuid[])",
        [m.record_id for m in unsure])} if unsure else {}
    conflicted: list[Mutation] = []
    for c in to_insert:
        if c.mutation.record_id in inserted:
            results[c.mutation.seq] = applied(c.mutation, 1)
    for m in unsure:
        row = existing.get(m.record_id)
        if row is None:
            if m.seq in refused:
                results[m.seq] = refused[m.seq]
            else:
                fallback.append(m)  # skipped by ON CONFLICT for another reason: decide it one by one
        elif row["expert_id"] != principal.user_id:
            # Someone else's id: answered without a copy, as if the id were merely taken.
            results[m.seq] = MutationResult(seq=m.seq, record_id=m.record_id, outcome="conflict", reason="id_taken")
        elif m.seq in hashes and hashes[m.seq] == row["content_hash"]:
            results[m.seq] = MutationResult(seq=m.seq, record_id=m.record_id, outcome="duplicate",
                                            version=row["version"])
        else:
            conflicted.append(m)
    if conflicted:
        rows = list((await session.execute(select(Entry).where(Entry.id.in_([m.record_id for m in conflicted]))))
                    .scalars())
        views = {v.id: v for v in await entry_views(session, rows, settings.entry_grace_days)}
        for m in conflicted:
            results[m.seq] = MutationResult(seq=m.seq, record_id=m.record_id, outcome="conflict",
                                            reason="id_conflict",
                                            server_copy=msgspec.to_builtins(views[m.record_id]))
    fallback.sort(key=lambda m: m.seq)
    return results, fallback


async def _insert(raw: Any, principal: Principal, cands: list[_Candidate], ctx: EntryContext) -> set[uuid.UUID]:
    if not cands:
        return set()
    rows = []
    for c in cands:
        x = c.clean
        rows.append({"i": c.mutation.record_id, "d": x["deployment_id"],
                     "inst": ctx.deployments[x["deployment_id"]].institution_id, "w": x["work_date"],
                     "a": x["activity_type"], "f": x["fields"], "st": x["start_time"], "et": x["end_time"],
                     "dm": x["duration_minutes"], "n": x["note"], "l": x["location"], "h": c.hash,
                     "dt": c.data.device_time, "s": _snapshot(x)})
    files = [{"i": c.mutation.record_id, "h": sha} for c in cands for sha in c.clean["attachments"]]
    enc = msgspec.json.encode
    found = await raw.fetch(_INSERT, principal.user_id, principal.device_id, enc(rows).decode(), enc(files).decode())
    return {r[0] for r in found}
