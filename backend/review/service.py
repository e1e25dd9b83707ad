"""The expert's side of review: submit one entry or a week's drafts, revise an approved entry, read history.

`submit_entry` and `submit_week` are also what the sync engine calls for queued submits, so they take
the same arguments whether the call came over HTTP or from a phone's batch.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import writer as audit
from backend.audit.queries import object_events
from backend.auth.principal import Principal
from backend.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from backend.models import Deployment, Entry, EntryVersion
from backend.review.changes import save_change
from backend.review.schemas import EntryHistory, VersionOut
from backend.scope import entry_scope
from backend.settings import Settings
from backend.worklog.schemas import EntryCreate, EntryOut
from backend.worklog.service import (
    EntryContext,
    attachments_of,
    check_editable,
    create_entry,
    get_own_entry_for_update,
    load_context,
    snapshot,
    stale,
)
from backend.worklog.states import ALLOWED, Action, EntryStatus
from backend.worklog.views import entry_view, entry_views


async def _submit(session: AsyncSession, principal: Principal, entry: Entry, ctx: EntryContext) -> None:
    await check_editable(session, principal, entry, Action.submit, ctx)
    attachments = await attachments_of(session, entry.id)
    before = snapshot(entry, attachments)
    entry.status = ALLOWED[(EntryStatus(entry.status), Action.submit)].value
    entry.submitted_at = datetime.now(UTC)
    await save_change(session, principal, entry, before, attachments, action="submit", role="expert")


async def submit_entry(session: AsyncSession, principal: Principal, entry_id: uuid.UUID,
                       expected_version: int | None, settings: Settings) -> EntryOut:
    """Send a draft or returned entry for review (NotFound / Conflict / Locked as the state machine decides)."""
    entry = await get_own_entry_for_update(session, principal, entry_id)
    if expected_version is not None and entry.version != expected_version:
        raise stale(entry, await entry_view(session, entry, settings.entry_grace_days), expected_version)
    await _submit(session, principal, entry, await load_context(session, principal.user_id, settings))
    return await entry_view(session, entry, settings.entry_grace_days)


def iso_week_bounds(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week containing `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


async def submit_week(session: AsyncSession, principal: Principal, deployment_id: uuid.UUID, week_start: date,
                      settings: Settings) -> list[EntryOut]:
    """Submit every draft of the caller's deployment dated in the ISO week of `week_start`.

    Drafts that cannot be submitted now (month closed, outside the editable window) stay drafts and are
    left out of the answer, so one locked day does not hold back the rest of the week.
    """
    owned = await session.scalar(select(exists().where(
        Deployment.id == deployment_id, Deployment.expert_id == principal.user_id)))
    if not owned:
        raise NotFound("No such deployment")
    monday, sunday = iso_week_bounds(week_start)
    drafts = list((await session.execute(
        select(Entry).where(
            Entry.deployment_id == deployment_id, Entry.expert_id == principal.user_id,
            Entry.status == EntryStatus.draft.value, Entry.deleted_at.is_(None),
            Entry.work_date.between(monday, sunday),
        ).order_by(Entry.id).with_for_update()  # id order: two overlapping calls lock in the same order
    )).scalars())
    ctx = await load_context(session, principal.user_id, settings)
    submitted: list[Entry] = []
    for entry in drafts:
        try:
            async with session.begin_nested():
                await _submit(session, principal, entry, ctx)
        except DomainError:
            await session.refresh(entry)
            continue
        submitted.append(entry)
    submitted.sort(key=lambda e: (e.work_date, e.id))
    return await entry_views(session, submitted, settings.entry_grace_days)


async def create_revision(session: AsyncSession, principal: Principal, original_id: uuid.UUID, data: EntryCreate,
                          settings: Settings) -> tuple[EntryOut, bool]:
    """Start a correction of an approved entry: a new draft (the phone's id) with `revision_of` = the original.

    The original stays approved and keeps counting until the revision is approved. Sending the same
    revision again answers the first result (created=False), as creating an entry does.
    """
    original = await get_own_entry_for_update(session, principal, original_id)
    existing = await session.get(Entry, data.id)
    if existing is not None and existing.revision_of == original.id:
        return await create_entry(session, principal, data, settings, revision_of=original.id)
    await check_editable(session, principal, original, Action.revise,
                         await load_context(session, principal.user_id, settings))
    if original.superseded_by is not None:
        raise Conflict("This entry was already replaced by an approved revision; revise that one instead",
                       extra={"reason": "superseded", "superseded_by": str(original.superseded_by)})
    pending = await session.scalar(select(Entry.id).where(
        Entry.revision_of == original.id, Entry.deleted_at.is_(None), Entry.status != EntryStatus.approved.value))
    if pending is not None:
        raise Conflict("A revision of this entry is already open; change that one",
                       extra={"reason": "revision_pending", "revision_id": str(pending)})
    if data.deployment_id != original.deployment_id:
        raise InvalidInput(errors=[FieldError(field="deployment_id", code="revision_deployment",
                                              message="A revision stays at the deployment of the entry it corrects")])
    out, created = await create_entry(session, principal, data, settings, revision_of=original.id)
    attachments = await attachments_of(session, original.id)
    state = snapshot(original, attachments)
    await audit.record(session, principal, "entry.revise", "entry", original.id, before=state, after=state,
                       institution_id=original.institution_id, role="expert",
                       detail={"revision_id": str(out.id), "version": original.version})
    return out, created


async def entry_history(session: AsyncSession, principal: Principal, entry_id: uuid.UUID) -> EntryHistory:
    """Versions and audit events of an entry in the caller's scope (404 otherwise)."""
    entry = (await session.execute(select(Entry).where(and_(Entry.id == entry_id, entry_scope(principal)))))\
        .scalar_one_or_none()
    if entry is None:
        raise NotFound("No such entry")
    versions = (await session.execute(
        select(EntryVersion).where(EntryVersion.entry_id == entry.id).order_by(EntryVersion.version))).scalars()
    revisions = (await session.execute(
        select(Entry.id).where(Entry.revision_of == entry.id, entry_scope(principal)).order_by(Entry.created_at)
    )).scalars()
    return EntryHistory(
        entry_id=entry.id, revision_of=entry.revision_of, superseded_by=entry.superseded_by,
        revisions=list(revisions),
        versions=[VersionOut(version=v.version, change=v.change, changed_by=v.changed_by, changed_at=v.changed_at,
                             snapshot=v.snapshot) for v in versions],
        events=await object_events(session, "entry", str(entry.id)),
    )
