"""Review decisions, set-based: a batch is checked in Python, then written with a few statements.

The per-decision path (decisions._decide_one) spends a savepoint, a flush, a version row, an audit event, a
feed touch and the roll-up upserts on every decision. Here the same checks (`answers.check`: version, scope,
own entry, closed month, state machine) and the same correction run on the loaded, row-locked entries in
input order, and the changes are written a run at a time: one UPDATE of the entries, one INSERT of their
versions, one of their audit events, one feed touch and one upsert per roll-up table. The ORM copies of the
entries are set to what was written (without marking them dirty), so a later decision on the same entry in
the batch, and anything the caller does next in the session, sees the entry as it now is.

Approving a revision supersedes its original, a row outside the batch that must be locked and checked; that
decision goes through the per-decision path, after the run before it is written, so the audit events stay
in input order. A failing statement rolls the whole batch back to a savepoint taken before its first write
and raises BulkWriteFailed: the caller redoes the batch one by one.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend import feed
from backend.audit.chain import record_digest
from backend.audit.writer import PENDING_FLAG, origin_of
from backend.auth.principal import Principal
from backend.http.context import request_id_var
from backend.models import Entry
from backend.review.answers import Refused, check, refused_result
from backend.review.corrections import apply_correction
from backend.review.schemas import Decision, DecisionResult
from backend.stats import rollup
from backend.worklog.service import actor_of, snapshot
from backend.worklog.states import Action, EntryStatus
from backend.worklog.views import month_start

ROLE = "supervisor"

_UPDATE = text(
    """
    UPDATE entries AS e
    SET status = t.status, review_comment = t.comment, reviewed_by = CAST(:actor AS uuid),
        reviewed_at = CAST(:reviewed_at AS timestamptz), version = t.version,
        updated_at = CAST(:updated_at AS timestamptz), fields = COALESCE(CAST(t.fields AS jsonb), e.fields),
        content_hash = COALESCE(t.hash, e.content_hash)
    FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:comments AS text[]),
                CAST(:versions AS int[]), CAST(:fields AS text[]), CAST(:hashes AS text[]))
         AS t(id, status, comment, version, fields, hash)
    WHERE e.id = t.id
    RETURNING e.id
    """
)
# The same row as worklog.service.write_version, for every change of the run.
_VERSIONS = text(
    """
    INSERT INTO entry_versions (entry_id, version, snapshot, changed_by, change)
    SELECT t.id, t.version, CAST(t.snapshot AS jsonb), CAST(:actor AS uuid), t.change
    FROM unnest(CAST(:ids AS uuid[]), CAST(:versions AS int[]), CAST(:snapshots AS text[]), CAST(:changes AS text[]))
         AS t(id, version, snapshot, change)
    """
)
# The same rows as audit.writer.record, staged in input order: sealing orders a transaction's events by id.
_AUDIT = text(
    """
    INSERT INTO audit_pending (actor_id, actor_role, action, object_type, object_id, institution_id, request_id,
                               origin, before_digest, after_digest, detail)
    SELECT CAST(:actor AS uuid), CAST(:role AS text), t.action, 'entry', t.object_id, t.institution_id,
           CAST(:request_id AS text), CAST(:origin AS text), t.before, t.after, CAST(t.detail AS jsonb)
    FROM unnest(CAST(:actions AS text[]), CAST(:object_ids AS text[]), CAST(:institutions AS uuid[]),
                CAST(:befores AS text[]), CAST(:afters AS text[]), CAST(:details AS text[]))
         WITH ORDINALITY AS t(action, object_id, institution_id, before, after, detail, n)
    ORDER BY t.n
    """
)

OneByOne = Callable[[Decision], Awaitable[DecisionResult]]


class BulkWriteFailed(Exception):
    """A set-based statement failed: the batch's writes are rolled back and the batch is redone one by one."""


@dataclass
class _Change:
    """One applied decision, as save_change would have persisted it."""

    entry: Entry
    action: Action
    to: EntryStatus
    before: dict[str, Any]
    after: dict[str, Any]
    detail: dict[str, Any]
    corrected: bool


async def decide_batch(session: AsyncSession, principal: Principal, decisions: list[Decision],
                       entries: dict[uuid.UUID, Entry], closed: set[tuple[uuid.UUID, date]],
                       files: dict[uuid.UUID, list[str]], one_by_one: OneByOne) -> list[DecisionResult]:
    """One answer per decision, in input order; `entries` are the caller's in-scope entries, row-locked.

    `one_by_one` decides a single decision through the per-decision path (used for revision approvals).
    """
    actor = actor_of(principal)
    now = datetime.now(UTC)
    results: list[DecisionResult] = []
    run: list[_Change] = []
    async with session.begin_nested():
        for decision in decisions:
            entry = entries.get(decision.entry_id)
            try:
                if entry is None:
                    raise Refused("not_in_scope", None, "not_in_scope", "No such entry at a hospital you supervise")
                action, new_status = check(entry, decision, actor,
                                           (entry.institution_id, month_start(entry.work_date)) in closed)
            except Refused as refused:
                results.append(refused_result(decision, refused))
                continue
            if new_status == EntryStatus.approved and entry.revision_of is not None:
                await _write(session, principal, run, now)
                run = []
                results.append(await one_by_one(decision))
                continue
            run.append(_apply(principal, entry, decision, action, new_status, files.get(entry.id, []), now))
            results.append(DecisionResult(entry_id=entry.id, outcome="applied", status=entry.status,
                                          version=entry.version))
        await _write(session, principal, run, now)
    return results


def _apply(principal: Principal, entry: Entry, decision: Decision, action: Action, new_status: EntryStatus,
           attachments: list[str], now: datetime) -> _Change:
    """Change the ORM entry as _decide_one and save_change do, as committed values (the run's UPDATE writes them)."""
    before = snapshot(entry, attachments)
    detail: dict[str, Any] = {"comment": decision.comment}
    corrected = False
    if decision.correction is not None and action == Action.approve:
        detail["correction"] = apply_correction(entry, decision.correction, attachments)
        corrected = bool(detail["correction"])
    values: dict[str, Any] = {"fields": entry.fields, "content_hash": entry.content_hash, "status": new_status.value,
                              "review_comment": decision.comment, "reviewed_by": principal.user_id,
                              "reviewed_at": now, "version": entry.version + 1, "updated_at": now}
    for name, value in values.items():
        set_committed_value(entry, name, value)
    after = snapshot(entry, attachments)
    detail = {"from": before["status"], "to": entry.status, "version": entry.version,
              "expert_id": str(entry.expert_id), **detail}
    return _Change(entry, action, new_status, before, after, detail, corrected)


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def _write(session: AsyncSession, principal: Principal, run: list[_Change], now: datetime) -> None:
    if not run:
        return
    try:
        await _statements(session, principal, run, now)
    except DBAPIError as exc:
        raise BulkWriteFailed(str(exc)) from exc


async def _statements(session: AsyncSession, principal: Principal, run: list[_Change], now: datetime) -> None:
    # An entry changes at most once per batch (approved and returned are final for review), but the UPDATE
    # must never see an id twice, so the last change of each entry is the row written.
    changes = list({c.entry.id: c for c in run}.values())
    corrected = {c.entry.id for c in run if c.corrected}
    updated = (await session.execute(_UPDATE, {
        "actor": principal.user_id, "reviewed_at": now, "updated_at": now,
        "ids": [c.entry.id for c in changes], "statuses": [c.entry.status for c in changes],
        "comments": [c.entry.review_comment for c in changes], "versions": [c.entry.version for c in changes],
        "fields": [_json(c.entry.fields) if c.entry.id in corrected else None for c in changes],
        "hashes": [c.entry.content_hash if c.entry.id in corrected else None for c in changes],
    })).all()
    if len(updated) != len(changes):
        raise BulkWriteFailed(f"updated {len(updated)} of {len(changes)} entries")
    await session.execute(_VERSIONS, {
        "actor": principal.user_id, "ids": [c.entry.id for c in run], "versions": [c.after["version"] for c in run],
        "snapshots": [_json(c.after) for c in run], "changes": [c.action.value for c in run],
    })
    await session.execute(_AUDIT, {
        "actor": principal.user_id, "role": ROLE, "request_id": request_id_var.get(), "origin": origin_of(principal),
        "actions": [f"entry.{c.action.value}" for c in run], "object_ids": [str(c.entry.id) for c in run],
        "institutions": [c.entry.institution_id for c in run],
        "befores": [record_digest(c.before) for c in run], "afters": [record_digest(c.after) for c in run],
        "details": [_json(msgspec.to_builtins(c.detail)) for c in run],
    })
    session.info[PENDING_FLAG] = True
    # The phones pull the new state, comment and lock reason through their feed.
    await feed.touch_many(session, dict.fromkeys((c.entry.expert_id, c.entry.id) for c in run), "entry")
    await rollup.add_entries(session, [c.entry for c in run if c.to == EntryStatus.approved])
