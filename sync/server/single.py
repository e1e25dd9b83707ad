"""The per-mutation path: updates (with three-way merge), deletes, submits and the creates bulk.py left over.

Each mutation runs in its own savepoint, so one failure never undoes the others.
"""

from __future__ import annotations

import logging

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from backend.models import Entry, EntryVersion
from backend.settings import Settings
from backend.worklog.schemas import EntryCreate, EntryPatch
from backend.worklog.service import (
    attachments_of,
    create_entry,
    delete_entry,
    get_own_entry_for_update,
    snapshot,
    update_entry,
)
from backend.worklog.views import entry_view
from sync.server.answers import applied, from_error, rejected
from sync.server.convert import convert_error, id_mismatch
from sync.server.protocol import Mutation, MutationResult
from sync.server.rules import three_way_merge

log = logging.getLogger("fieldlog.sync")


async def apply_one(session: AsyncSession, principal: Principal, m: Mutation, settings: Settings) -> MutationResult:
    """Apply one mutation in a savepoint; its answer reflects exactly what stays in the transaction."""
    try:
        async with session.begin_nested():  # released savepoints do not seal audit events (writer.py)
            return await _dispatch(session, principal, m, settings)
    except DomainError as exc:
        return from_error(m, exc)
    except msgspec.ValidationError as exc:
        return rejected(m, [convert_error(exc)])
    except IntegrityError:
        # A concurrent write to the same record won a race the checks could not see; the phone pulls and retries.
        log.info("integrity race on %s seq %s", m.record_id, m.seq)
        return MutationResult(seq=m.seq, record_id=m.record_id, outcome="conflict", reason="concurrent_write")


async def _dispatch(session: AsyncSession, principal: Principal, m: Mutation, settings: Settings) -> MutationResult:
    if m.kind in ("delete", "submit") and m.data:  # nothing of it would be read: refused, never dropped
        raise InvalidInput(errors=[FieldError(field=key, code="unknown_field",
                                              message=f"A {m.kind} carries no data; `{key}` is not read")
                                   for key in sorted(m.data)])
    if m.kind == "create":
        if (wrong_id := id_mismatch(m.record_id, m.data)) is not None:
            raise InvalidInput(errors=[wrong_id])
        data = msgspec.convert({**m.data, "id": str(m.record_id)}, EntryCreate)
        out, created = await create_entry(session, principal, data, settings)
        if created:
            return applied(m, out.version)
        return MutationResult(seq=m.seq, record_id=m.record_id, outcome="duplicate", version=out.version)
    if m.kind == "update":
        return await _update(session, principal, m, settings)
    if m.kind == "delete":
        return await _delete(session, principal, m, settings)
    from backend.review.service import submit_entry

    out = await submit_entry(session, principal, m.record_id, m.base_version, settings)
    return applied(m, out.version)


async def _update(session: AsyncSession, principal: Principal, m: Mutation, settings: Settings) -> MutationResult:
    if m.base_version is None:
        raise InvalidInput(errors=[FieldError(field="base_version", code="required",
                                              message="An update names the version it was based on")])
    patch = msgspec.convert(m.data, EntryPatch)
    entry = await get_own_entry_for_update(session, principal, m.record_id)
    if entry.version == m.base_version:
        return applied(m, (await update_entry(session, principal, m.record_id, patch, m.base_version, settings)).version)
    base = (await session.execute(select(EntryVersion.snapshot).where(
        EntryVersion.entry_id == entry.id, EntryVersion.version == m.base_version))).scalar_one_or_none()
    current = await entry_view(session, entry, settings.entry_grace_days)
    if base is None or m.base_version > entry.version:
        raise Conflict("The version this change was based on is unknown", extra={"reason": "unknown_base",
                                                                                "current": current})
    server = snapshot(entry, await attachments_of(session, entry.id))
    # The phone's change in the same JSON form as the stored snapshots, only the keys it sent.
    merge = three_way_merge(base, server, msgspec.to_builtins(patch))
    if merge.conflicts:
        raise Conflict("Changed on the phone and on the server since the base version",
                       extra={"reason": "edit_conflict", "current": current, "fields": merge.conflicts})
    if not merge.changes:
        return applied(m, entry.version)  # the server already holds every change the phone made
    merged = msgspec.convert(merge.changes, EntryPatch)
    if patch.device_time is not msgspec.UNSET:
        merged.device_time = patch.device_time
    out = await update_entry(session, principal, m.record_id, merged, entry.version, settings)
    return applied(m, out.version)


async def _delete(session: AsyncSession, principal: Principal, m: Mutation, settings: Settings) -> MutationResult:
    try:
        await delete_entry(session, principal, m.record_id, m.base_version, settings)
    except NotFound:
        gone = (await session.execute(select(Entry.version).where(
            Entry.id == m.record_id, Entry.expert_id == principal.user_id, Entry.deleted_at.is_not(None)))).scalar()
        if gone is None:
            raise
        return MutationResult(seq=m.seq, record_id=m.record_id, outcome="duplicate", version=gone)
    version = (await session.execute(select(Entry.version).where(Entry.id == m.record_id))).scalar_one()
    return applied(m, version)
