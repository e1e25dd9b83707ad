"""The supervisor's side of review: approve or return many entries at once, and unapprove one.

Approving is where figures change, so the statistics roll-ups are applied here in the same transaction:
+1 when an entry becomes approved, -1 when it stops being approved, and when an approved revision
replaces its original, -1 for the original and +1 for the revision.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, DomainError, NotFound
from backend.models import Entry, EntryAttachment
from backend.review import bulk
from backend.review.answers import Refused as _Refused
from backend.review.answers import check, refused_result
from backend.review.answers import result_of_error as _result_of_error
from backend.review.changes import save_change
from backend.review.corrections import apply_correction, validate_batch
from backend.review.schemas import Decision, DecisionResult, DecisionResults, UnapproveRequest
from backend.scope import entry_scope
from backend.settings import Settings
from backend.stats import rollup
from backend.worklog.schemas import EntryOut
from backend.worklog.service import actor_of, month_is_closed, snapshot
from backend.worklog.states import Action, EntryStatus, transition
from backend.worklog.views import _closed_months, entry_view, month_start

log = logging.getLogger("fieldlog.review")

# Decide batches set-based (backend.review.bulk: a few statements per batch); False decides every decision
# one by one in its own savepoint, the original path, which the set-based one falls back to.
SET_BASED = True


async def _attachments(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    rows = await session.execute(select(EntryAttachment.entry_id, EntryAttachment.sha256)
                                 .where(EntryAttachment.entry_id.in_(ids)).order_by(EntryAttachment.sha256))
    found: dict[uuid.UUID, list[str]] = {}
    for entry_id, sha in rows:
        found.setdefault(entry_id, []).append(sha)
    return found


async def _supersede(session: AsyncSession, principal: Principal, revision: Entry, role: str) -> None:
    """The approved revision replaces its original in the figures; the original stays in the history."""
    original = (await session.execute(select(Entry).where(Entry.id == revision.revision_of).with_for_update()))\
        .scalar_one()
    if original.status != EntryStatus.approved.value or original.superseded_by is not None \
            or original.deleted_at is not None:
        raise Conflict("The entry this revision corrects is no longer approved; it cannot replace it",
                       extra={"reason": "original_not_approved"})
    attachments = (await _attachments(session, [original.id])).get(original.id, [])
    before = snapshot(original, attachments)
    original.superseded_by = revision.id
    await save_change(session, principal, original, before, attachments, action="supersede", role=role,
                      detail={"revision_id": str(revision.id)})
    await rollup.apply_entry(session, original, -1)


async def _decide_one(session: AsyncSession, principal: Principal, entry: Entry, decision: Decision,
                      attachments: list[str], month_closed: bool) -> None:
    action, new_status = check(entry, decision, actor_of(principal), month_closed)
    before = snapshot(entry, attachments)
    detail: dict[str, Any] = {"comment": decision.comment}
    if decision.correction is not None and action == Action.approve:
        detail["correction"] = apply_correction(entry, decision.correction, attachments)
    entry.status = new_status.value
    entry.review_comment = decision.comment
    entry.reviewed_by = principal.user_id
    entry.reviewed_at = datetime.now(UTC)
    await save_change(session, principal, entry, before, attachments, action=action.value, role="supervisor",
                      detail=detail)
    if new_status == EntryStatus.approved:
        if entry.revision_of is not None:
            await _supersede(session, principal, entry, "supervisor")
        await rollup.apply_entry(session, entry, +1)


async def _decide_single(session: AsyncSession, principal: Principal, decision: Decision,
                         entries: dict[uuid.UUID, Entry], closed: set[tuple[uuid.UUID, date]],
                         files: dict[uuid.UUID, list[str]]) -> DecisionResult:
    """One decision in its own savepoint: a refused decision never undoes another."""
    entry = entries.get(decision.entry_id)
    try:
        if entry is None:
            raise _Refused("not_in_scope", None, "not_in_scope", "No such entry at a hospital you supervise")
        async with session.begin_nested():
            await _decide_one(session, principal, entry, decision, files.get(entry.id, []),
                              (entry.institution_id, month_start(entry.work_date)) in closed)
    except _Refused as refused:
        if refused.entry is not None:
            await session.refresh(refused.entry)
        return refused_result(decision, refused)
    except DomainError as exc:  # raised after the transition (e.g. a revision whose original moved on)
        await session.refresh(entry)
        refused = _result_of_error(exc, entry)
        return DecisionResult(entry_id=decision.entry_id, outcome=refused.outcome,  # type: ignore[arg-type]
                              status=entry.status, version=entry.version, reason=refused.reason,
                              detail=refused.detail)
    return DecisionResult(entry_id=entry.id, outcome="applied", status=entry.status, version=entry.version)


async def _reload(session: AsyncSession, entries: dict[uuid.UUID, Entry]) -> None:
    """Read the batch's entries, and the originals its revisions may have superseded, again from the database."""
    # The savepoint's rollback expires what the ORM changed in it, not the values the set-based path set as
    # committed, so every entry is read again; the ids come from the rows, as expired objects cannot be read.
    ids = list(entries)
    if ids:
        originals = select(Entry.revision_of).where(Entry.id.in_(ids), Entry.revision_of.is_not(None))
        await session.execute(select(Entry).where(or_(Entry.id.in_(ids), Entry.id.in_(originals)))
                              .execution_options(populate_existing=True))


async def decide(session: AsyncSession, principal: Principal, decisions: list[Decision],
                 settings: Settings) -> DecisionResults:
    """Apply up to 500 decisions, one answer each in input order; one refused decision never undoes another."""
    ids = sorted({d.entry_id for d in decisions})
    # Only entries at the caller's hospitals are loaded (others answer not_in_scope); locked in id order
    # so two supervisors deciding overlapping batches cannot deadlock.
    in_scope = Entry.institution_id.in_(principal.supervised) if principal.supervised else None
    entries: dict[uuid.UUID, Entry] = {}
    if in_scope is not None:
        rows = await session.execute(select(Entry).where(Entry.id.in_(ids), in_scope, Entry.deleted_at.is_(None))
                                     .order_by(Entry.id).with_for_update())
        entries = {e.id: e for e in rows.scalars()}
    validate_batch(decisions, entries)
    closed = await _closed_months(session, list(entries.values()))
    files = await _attachments(session, list(entries))

    async def one(decision: Decision) -> DecisionResult:
        return await _decide_single(session, principal, decision, entries, closed, files)

    if SET_BASED:
        try:
            results = await bulk.decide_batch(session, principal, decisions, entries, closed, files, one)
        except bulk.BulkWriteFailed:
            # A set-based statement failed; its savepoint is rolled back, so redo the batch one by one.
            log.warning("set-based review decisions fell back to one by one", exc_info=True)
            await _reload(session, entries)
            results = [await one(decision) for decision in decisions]
    else:
        results = [await one(decision) for decision in decisions]
    return DecisionResults(results=results, applied=sum(r.outcome == "applied" for r in results))


async def unapprove(session: AsyncSession, principal: Principal, data: UnapproveRequest,
                    settings: Settings) -> EntryOut:
    """Reopen an approved entry as returned, with a reason; it stops counting (its original counts again)."""
    entry = (await session.execute(select(Entry).where(Entry.id == data.entry_id, entry_scope(principal),
                                                       Entry.deleted_at.is_(None)).with_for_update()))\
        .scalar_one_or_none()
    if entry is None or not (principal.is_admin or entry.institution_id in principal.supervised):
        raise NotFound("No such entry")
    if data.version is not None and entry.version != data.version:
        raise Conflict(f"The entry is at version {entry.version}, not {data.version}",
                       extra={"reason": "stale_version", "version": entry.version})
    if entry.superseded_by is not None:
        raise Conflict("This entry was replaced by an approved revision; unapprove the revision",
                       extra={"reason": "superseded", "superseded_by": str(entry.superseded_by)})
    new_status = transition(EntryStatus(entry.status), Action.unapprove, actor=actor_of(principal),
                            entry_expert_id=entry.expert_id, entry_institution_id=entry.institution_id,
                            comment=data.reason,
                            month_closed=await month_is_closed(session, entry.institution_id, entry.work_date))
    role = "supervisor" if entry.institution_id in principal.supervised else "admin"
    attachments = (await _attachments(session, [entry.id])).get(entry.id, [])
    before = snapshot(entry, attachments)
    entry.status = new_status.value
    entry.review_comment = data.reason
    entry.reviewed_by = principal.user_id
    entry.reviewed_at = datetime.now(UTC)
    await save_change(session, principal, entry, before, attachments, action="unapprove", role=role,
                      detail={"reason": data.reason})
    await rollup.apply_entry(session, entry, -1)
    if entry.revision_of is not None:
        await _restore_original(session, principal, entry, role)
    return await entry_view(session, entry, settings.entry_grace_days)


async def _restore_original(session: AsyncSession, principal: Principal, revision: Entry, role: str) -> None:
    # The revision no longer stands, so the approved original it had replaced is the one that counts again.
    original = (await session.execute(select(Entry).where(Entry.id == revision.revision_of).with_for_update()))\
        .scalar_one()
    if original.superseded_by != revision.id:
        return
    attachments = (await _attachments(session, [original.id])).get(original.id, [])
    before = snapshot(original, attachments)
    original.superseded_by = None
    await save_change(session, principal, original, before, attachments, action="restore", role=role,
                      detail={"revision_id": str(revision.id)})
    await rollup.apply_entry(session, original, +1)

