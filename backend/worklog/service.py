"""Use cases of the work log: create, change and delete entries, with every rule checked before any write.

The validation half (`EntryContext`, `validate_content`) is pure so that the sync engine can check a whole
batch with the same rules after loading the context once.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import and_, delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import feed
from backend.audit import writer as audit
from backend.audit.chain import canonical_json
from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, InvalidInput, Locked, NotFound
from backend.models import Deployment, Entry, EntryAttachment, EntryVersion, Institution, MonthClosure, User
from backend.scope import entry_scope
from backend.settings import Settings
from backend.worklog.catalog import get_type
from backend.worklog.privacy import scan_text_fields
from backend.worklog.rules import (
    check_device_time,
    check_location,
    check_times,
    check_trainee,
    check_work_date,
    editable_window,
    local_today,
)
from backend.worklog.schemas import EntryCreate, EntryOut, EntryPatch
from backend.worklog.states import Action, Actor, EntryStatus, transition
from backend.worklog.trainees import trainees_at
from backend.worklog.validation import validate_fields
from backend.worklog.views import entry_view, month_start

CONTENT_KEYS = ("deployment_id", "work_date", "activity_type", "fields", "start_time", "end_time",
                "duration_minutes", "note", "location", "attachments")


class DeploymentInfo(msgspec.Struct, kw_only=True, frozen=True):
    id: uuid.UUID
    expert_id: uuid.UUID
    institution_id: uuid.UUID
    timezone: str
    starts_on: date
    planned_end: date | None
    actual_end: date | None
    status: str


@dataclass(frozen=True)
class EntryContext:
    """What validating one expert's entries needs, loaded once per request or sync batch."""

    expert_id: uuid.UUID
    deployments: dict[uuid.UUID, DeploymentInfo]
    location_consent: bool
    grace_days: int
    record_key: bytes
    now: datetime
    # Trainee id → hospital, for the hospitals of the expert's deployments (the mentoring rule).
    trainees: Mapping[uuid.UUID, uuid.UUID] = field(default_factory=dict)


async def load_context(session: AsyncSession, expert_id: uuid.UUID, settings: Settings,
                       now: datetime | None = None) -> EntryContext:
    rows = await session.execute(
        select(Deployment.id, Deployment.expert_id, Deployment.recipient_id, Institution.timezone, Deployment.starts_on,
               Deployment.planned_end, Deployment.actual_end, Deployment.status)
        .join(Institution, Institution.id == Deployment.recipient_id)
        .where(Deployment.expert_id == expert_id)
    )
    deployments = {
        r[0]: DeploymentInfo(id=r[0], expert_id=r[1], institution_id=r[2], timezone=r[3], starts_on=r[4],
                             planned_end=r[5], actual_end=r[6], status=r[7])
        for r in rows
    }
    consent = (await session.execute(select(User.location_consent).where(User.id == expert_id))).scalar_one()
    trainees = await trainees_at(session, {d.institution_id for d in deployments.values()})
    return EntryContext(expert_id=expert_id, deployments=deployments, location_consent=consent,
                        grace_days=settings.entry_grace_days, record_key=settings.record_key,
                        now=now or datetime.now(UTC), trainees=trainees)


def _preserve_record_numbers(activity_type: str, fields: dict[str, Any], stored: dict[str, Any] | None
                             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split out record numbers the client echoed back in their stored (hashed) form; they need no re-check."""
    spec = get_type(activity_type)
    if spec is None or not stored:
        return fields, {}
    kept: dict[str, Any] = {}
    rest = dict(fields)
    for f in spec.fields:
        if f.type == "record_number" and isinstance(rest.get(f.name), dict) and rest[f.name] == stored.get(f.name):
            kept[f.name] = rest.pop(f.name)
    return rest, kept


def validate_content(content: dict[str, Any], ctx: EntryContext, *, stored_fields: dict[str, Any] | None = None,
                     device_time: datetime | None = None) -> tuple[dict[str, Any], list[FieldError]]:
    """Check one entry's full content against every rule; returns the clean content and all errors at once."""
    errors: list[FieldError] = []
    dep = ctx.deployments.get(content["deployment_id"])
    if dep is None or dep.status == "cancelled":
        errors.append(FieldError(field="deployment_id", code="unknown_deployment",
                                 message="This deployment does not exist or is not yours"))
    else:
        errors += check_work_date(content["work_date"], deployment_start=dep.starts_on,
                                  deployment_planned_end=dep.planned_end, deployment_actual_end=dep.actual_end,
                                  grace_days=ctx.grace_days, tz_name=dep.timezone, now_utc=ctx.now)
    raw_fields, kept = _preserve_record_numbers(content["activity_type"], content["fields"] or {}, stored_fields)
    clean_fields, field_errors = validate_fields(content["activity_type"], raw_fields, record_key=ctx.record_key)
    errors += field_errors
    if dep is not None and not field_errors:
        errors += check_trainee(content["activity_type"], clean_fields, dep.institution_id, ctx.trainees)
    clean_fields.update(kept)
    errors += check_times(content["start_time"], content["end_time"], content["duration_minutes"])
    errors += check_location(content["location"], ctx.location_consent)
    if content["note"]:
        errors += scan_text_fields({"note": content["note"]})
        if "\x00" in content["note"]:
            errors.append(FieldError(field="note", code="invalid_characters", message="The note contains a NUL"))
    errors += check_device_time(device_time, ctx.now)
    clean = dict(content)
    clean["fields"] = clean_fields
    clean["attachments"] = sorted(set(content["attachments"] or []))
    return clean, errors


def _utc(moment: datetime | None) -> datetime | None:
    # Stored and echoed in UTC, so a retried create answers byte-for-byte what the first one did.
    return moment.astimezone(UTC) if moment is not None and moment.tzinfo is not None else moment


def content_hash(clean: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({k: clean[k] for k in CONTENT_KEYS})).hexdigest()


def content_of(entry: Entry, attachments: list[str]) -> dict[str, Any]:
    return {"deployment_id": entry.deployment_id, "work_date": entry.work_date, "activity_type": entry.activity_type,
            "fields": entry.fields, "start_time": entry.start_time, "end_time": entry.end_time,
            "duration_minutes": entry.duration_minutes, "note": entry.note, "location": entry.location,
            "attachments": attachments}


def content_from_create(data: EntryCreate) -> dict[str, Any]:
    return {"deployment_id": data.deployment_id, "work_date": data.work_date, "activity_type": data.activity_type,
            "fields": data.fields, "start_time": data.start_time, "end_time": data.end_time,
            "duration_minutes": data.duration_minutes, "note": data.note,
            "location": msgspec.to_builtins(data.location) if data.location else None,
            "attachments": list(data.attachments)}


def snapshot(entry: Entry, attachments: list[str]) -> dict[str, Any]:
    """The JSON form of an entry version, kept in `entry_versions` (the base of merges, the visible history)."""
    data = msgspec.to_builtins(content_of(entry, attachments))
    data.update(status=entry.status, version=entry.version, review_comment=entry.review_comment,
                revision_of=str(entry.revision_of) if entry.revision_of else None)
    return data


async def month_is_closed(session: AsyncSession, institution_id: uuid.UUID, work_date: date) -> bool:
    return bool(await session.scalar(select(exists().where(
        MonthClosure.institution_id == institution_id, MonthClosure.month == month_start(work_date)))))


async def _attendance_taken(session: AsyncSession, expert_id: uuid.UUID, work_date: date,
                            except_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(
        Entry.expert_id == expert_id, Entry.work_date == work_date, Entry.activity_type == "attendance",
        Entry.deleted_at.is_(None), Entry.revision_of.is_(None), Entry.id != except_id))))


async def _db_rules(session: AsyncSession, clean: dict[str, Any], ctx: EntryContext, entry_id: uuid.UUID,
                    revision_of: uuid.UUID | None = None) -> None:
    dep = ctx.deployments[clean["deployment_id"]]
    if await month_is_closed(session, dep.institution_id, clean["work_date"]):
        raise Locked("The month of this work date is closed for the hospital", extra={"reason": "month_closed"})
    if (clean["activity_type"] == "attendance" and revision_of is None
            and await _attendance_taken(session, ctx.expert_id, clean["work_date"], entry_id)):
        raise InvalidInput(errors=[FieldError(field="work_date", code="attendance_exists",
                                              message="There is already an attendance record for this day")])


async def write_version(session: AsyncSession, entry: Entry, attachments: list[str], actor_id: uuid.UUID | None,
                        change: str) -> None:
    await session.execute(insert(EntryVersion).values(entry_id=entry.id, version=entry.version,
                                                      snapshot=snapshot(entry, attachments), changed_by=actor_id,
                                                      change=change))


async def _set_attachments(session: AsyncSession, entry_id: uuid.UUID, hashes: list[str]) -> None:
    await session.execute(delete(EntryAttachment).where(EntryAttachment.entry_id == entry_id))
    if hashes:
        await session.execute(insert(EntryAttachment), [{"entry_id": entry_id, "sha256": h} for h in hashes])


async def attachments_of(session: AsyncSession, entry_id: uuid.UUID) -> list[str]:
    return list((await session.execute(select(EntryAttachment.sha256).where(EntryAttachment.entry_id == entry_id)
                                       .order_by(EntryAttachment.sha256))).scalars())


async def create_entry(session: AsyncSession, principal: Principal, data: EntryCreate, settings: Settings, *,
                       revision_of: uuid.UUID | None = None) -> tuple[EntryOut, bool]:
    """Create an entry; the same id with the same content again answers the first result (created=False)."""
    ctx = await load_context(session, principal.user_id, settings)
    clean, errors = validate_content(content_from_create(data), ctx, device_time=data.device_time)
    existing = await session.get(Entry, data.id)
    if existing is not None:
        if existing.expert_id != principal.user_id:
            raise Conflict("This id is already used by another record; generate a new UUID",
                           extra={"reason": "id_taken"})
        current = await entry_view(session, existing, settings.entry_grace_days)
        if not errors and content_hash(clean) == existing.content_hash:
            return current, False
        raise Conflict("An entry with this id already exists with other content",
                       extra={"reason": "id_conflict", "current": current})
    if errors:
        raise InvalidInput(errors=errors)
    await _db_rules(session, clean, ctx, data.id, revision_of)
    now = datetime.now(UTC)
    entry = Entry(id=data.id, expert_id=principal.user_id, deployment_id=clean["deployment_id"],
                  institution_id=ctx.deployments[clean["deployment_id"]].institution_id, work_date=clean["work_date"],
                  activity_type=clean["activity_type"], fields=clean["fields"], start_time=clean["start_time"],
                  end_time=clean["end_time"], duration_minutes=clean["duration_minutes"], note=clean["note"],
                  location=clean["location"], status="draft", version=1, content_hash=content_hash(clean),
                  revision_of=revision_of, device_id=principal.device_id, device_time=_utc(data.device_time),
                  created_at=now, updated_at=now)
    session.add(entry)
    await session.flush()
    await _set_attachments(session, entry.id, clean["attachments"])
    await write_version(session, entry, clean["attachments"], principal.user_id, "create")
    await feed.touch(session, principal.user_id, "entry", [entry.id])
    await audit.record(session, principal, "entry.create", "entry", entry.id,
                       after=snapshot(entry, clean["attachments"]), institution_id=entry.institution_id)
    return await entry_view(session, entry, settings.entry_grace_days), True


async def get_own_entry_for_update(session: AsyncSession, principal: Principal, entry_id: uuid.UUID) -> Entry:
    """The caller's own entry, row-locked; anyone else's answers 404 as if it did not exist."""
    entry = (await session.execute(select(Entry).where(Entry.id == entry_id, Entry.expert_id == principal.user_id,
                                                       Entry.deleted_at.is_(None)).with_for_update())).scalar_one_or_none()
    if entry is None:
        raise NotFound("No such entry")
    return entry


def actor_of(principal: Principal) -> Actor:
    return Actor(user_id=principal.user_id, roles=frozenset(principal.roles),
                 supervised_institution_ids=frozenset(principal.supervised))


async def check_editable(session: AsyncSession, principal: Principal, entry: Entry, action: Action,
                         ctx: EntryContext) -> None:
    dep = ctx.deployments.get(entry.deployment_id)
    in_window = True
    if dep is not None:
        _, last = editable_window(dep.starts_on, dep.planned_end, dep.actual_end, ctx.grace_days)
        in_window = last is None or local_today(dep.timezone, ctx.now) <= last
    transition(EntryStatus(entry.status), action, actor=actor_of(principal), entry_expert_id=entry.expert_id,
               entry_institution_id=entry.institution_id,
               month_closed=await month_is_closed(session, entry.institution_id, entry.work_date), in_window=in_window)


def stale(entry: Entry, current: EntryOut, expected: int) -> Conflict:
    return Conflict(f"The entry is at version {entry.version}, not {expected}; merge with the current copy",
                    extra={"reason": "stale_version", "current": current})


async def update_entry(session: AsyncSession, principal: Principal, entry_id: uuid.UUID, patch: EntryPatch,
                       expected_version: int, settings: Settings) -> EntryOut:
    """Apply a partial change to a draft or returned entry at the version the caller last saw."""
    entry = await get_own_entry_for_update(session, principal, entry_id)
    if entry.version != expected_version:
        raise stale(entry, await entry_view(session, entry, settings.entry_grace_days), expected_version)
    ctx = await load_context(session, principal.user_id, settings)
    await check_editable(session, principal, entry, Action.edit, ctx)
    old_attachments = await attachments_of(session, entry.id)
    before = snapshot(entry, old_attachments)
    content = content_of(entry, old_attachments)
    for key in CONTENT_KEYS:
        value = getattr(patch, key)
        if value is not msgspec.UNSET:
            content[key] = msgspec.to_builtins(value) if key == "location" and value is not None else value
    device_time = None if patch.device_time is msgspec.UNSET else _utc(patch.device_time)
    clean, errors = validate_content(content, ctx, stored_fields=entry.fields, device_time=device_time)
    if errors:
        raise InvalidInput(errors=errors)
    await _db_rules(session, clean, ctx, entry.id, entry.revision_of)
    for key in CONTENT_KEYS:
        if key != "attachments":
            setattr(entry, key, clean[key])
    entry.institution_id = ctx.deployments[clean["deployment_id"]].institution_id
    entry.content_hash = content_hash(clean)
    entry.version += 1
    entry.updated_at = datetime.now(UTC)
    entry.device_time = device_time or entry.device_time
    await session.flush()
    if clean["attachments"] != old_attachments:
        await _set_attachments(session, entry.id, clean["attachments"])
    await write_version(session, entry, clean["attachments"], principal.user_id, "edit")
    await feed.touch(session, principal.user_id, "entry", [entry.id])
    await audit.record(session, principal, "entry.update", "entry", entry.id, before=before,
                       after=snapshot(entry, clean["attachments"]), institution_id=entry.institution_id)
    return await entry_view(session, entry, settings.entry_grace_days)


async def delete_entry(session: AsyncSession, principal: Principal, entry_id: uuid.UUID,
                       expected_version: int | None, settings: Settings) -> None:
    """Delete a draft; the row stays as a tombstone so phones learn of it through sync."""
    entry = await get_own_entry_for_update(session, principal, entry_id)
    if expected_version is not None and entry.version != expected_version:
        raise stale(entry, await entry_view(session, entry, settings.entry_grace_days), expected_version)
    ctx = await load_context(session, principal.user_id, settings)
    await check_editable(session, principal, entry, Action.delete, ctx)
    attachments = await attachments_of(session, entry.id)
    before = snapshot(entry, attachments)
    entry.deleted_at = datetime.now(UTC)
    entry.updated_at = entry.deleted_at
    entry.version += 1
    await session.flush()
    await write_version(session, entry, attachments, principal.user_id, "delete")
    await feed.touch(session, principal.user_id, "entry", [entry.id], op="delete")
    await audit.record(session, principal, "entry.delete", "entry", entry.id, before=before,
                       institution_id=entry.institution_id)


async def get_entry(session: AsyncSession, principal: Principal, entry_id: uuid.UUID, settings: Settings, *,
                    include_deleted: bool = False) -> EntryOut:
    """One entry in the caller's scope (404 otherwise, as if it did not exist; a deleted one too, unless asked)."""
    query = select(Entry).where(and_(Entry.id == entry_id, entry_scope(principal)))
    if not include_deleted:
        query = query.where(Entry.deleted_at.is_(None))
    entry = (await session.execute(query)).scalar_one_or_none()
    if entry is None:
        raise NotFound("No such entry")
    return await entry_view(session, entry, settings.entry_grace_days)
