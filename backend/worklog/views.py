"""Read side of entries: turning rows into `EntryOut` in bulk (attachments, locks) and keyset listing."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import msgspec
from sqlalchemy import and_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import FieldError, InvalidInput
from backend.models import Attachment, Deployment, Entry, EntryAttachment, Institution, MonthClosure
from backend.scope import entry_scope
from backend.worklog.rules import local_today
from backend.worklog.schemas import EntryOut, EntryPage
from backend.worklog.states import EntryStatus, lock_reason


def month_start(day: date) -> date:
    return day.replace(day=1)


async def _closed_months(session: AsyncSession, entries: Sequence[Entry]) -> set[tuple[uuid.UUID, date]]:
    keys = {(e.institution_id, month_start(e.work_date)) for e in entries}
    if not keys:
        return set()
    rows = await session.execute(
        select(MonthClosure.institution_id, MonthClosure.month).where(
            tuple_(MonthClosure.institution_id, MonthClosure.month).in_(list(keys))
        )
    )
    return {(r[0], r[1]) for r in rows}


async def _windows(session: AsyncSession, entries: Sequence[Entry], grace_days: int) -> dict[uuid.UUID, bool]:
    """Whether each deployment's editable window is still open today (in the hospital's timezone)."""
    ids = {e.deployment_id for e in entries}
    if not ids:
        return {}
    rows = await session.execute(
        select(Deployment.id, Deployment.planned_end, Deployment.actual_end, Institution.timezone)
        .join(Institution, Institution.id == Deployment.recipient_id)
        .where(Deployment.id.in_(ids))
    )
    now = datetime.now(UTC)
    result: dict[uuid.UUID, bool] = {}
    for dep_id, planned, actual, tz in rows:
        end = actual or planned
        result[dep_id] = end is None or local_today(tz, now) <= end + timedelta(days=grace_days)
    return result


async def _attachments(session: AsyncSession, entries: Sequence[Entry]) -> dict[uuid.UUID, tuple[list[str], list[str]]]:
    ids = [e.id for e in entries]
    if not ids:
        return {}
    rows = await session.execute(
        select(EntryAttachment.entry_id, EntryAttachment.sha256, Attachment.status)
        .join(Entry, Entry.id == EntryAttachment.entry_id)
        .outerjoin(
            Attachment,
            and_(Attachment.owner_id == Entry.expert_id, Attachment.sha256 == EntryAttachment.sha256),
        )
        .where(EntryAttachment.entry_id.in_(ids))
        .order_by(EntryAttachment.entry_id, EntryAttachment.sha256)
    )
    result: dict[uuid.UUID, tuple[list[str], list[str]]] = {}
    for entry_id, sha, status in rows:
        names, missing = result.setdefault(entry_id, ([], []))
        names.append(sha)
        if status != "complete":
            missing.append(sha)
    return result


async def entry_views(session: AsyncSession, entries: Sequence[Entry], grace_days: int) -> list[EntryOut]:
    """Views of many entries with a fixed number of queries, whatever their count."""
    closed = await _closed_months(session, entries)
    windows = await _windows(session, entries, grace_days)
    files = await _attachments(session, entries)
    views = []
    for e in entries:
        reason = lock_reason(
            EntryStatus(e.status),
            month_closed=(e.institution_id, month_start(e.work_date)) in closed,
            in_window=windows.get(e.deployment_id, True),
        )
        names, missing = files.get(e.id, ([], []))
        views.append(
            EntryOut(
                id=e.id, expert_id=e.expert_id, deployment_id=e.deployment_id, institution_id=e.institution_id,
                work_date=e.work_date, activity_type=e.activity_type, fields=e.fields, start_time=e.start_time,
                end_time=e.end_time, duration_minutes=e.duration_minutes, note=e.note, location=e.location,
                attachments=names, missing_attachments=missing, status=e.status, version=e.version,
                locked=reason is not None and e.deleted_at is None, lock_reason=str(reason) if reason else None,
                review_comment=e.review_comment, reviewed_by=e.reviewed_by, reviewed_at=e.reviewed_at,
                submitted_at=e.submitted_at, revision_of=e.revision_of, superseded_by=e.superseded_by,
                quarantined=e.quarantined, device_time=e.device_time, created_at=e.created_at,
                updated_at=e.updated_at, deleted=e.deleted_at is not None,
            )
        )
    return views


async def entry_view(session: AsyncSession, entry: Entry, grace_days: int) -> EntryOut:
    return (await entry_views(session, [entry], grace_days))[0]


class _Cursor(msgspec.Struct, array_like=True):
    work_date: date
    id: uuid.UUID


def encode_cursor(entry: Entry) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(_Cursor(entry.work_date, entry.id))).decode().rstrip("=")


def decode_cursor(raw: str) -> _Cursor:
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), type=_Cursor)
    except (ValueError, msgspec.DecodeError):
        raise InvalidInput(errors=[FieldError(field="cursor", code="invalid", message="The cursor is not valid")]) \
            from None


async def list_entries(
    session: AsyncSession,
    principal: Principal,
    *,
    grace_days: int,
    deployment_id: uuid.UUID | None = None,
    expert_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    activity_type: str | None = None,
    status: str | None = None,
    include_deleted: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> EntryPage:
    """Entries in the caller's scope, newest work date first, paged by keyset (stable under inserts)."""
    query = select(Entry).where(entry_scope(principal))
    if not include_deleted:
        query = query.where(Entry.deleted_at.is_(None))
    for column, value in ((Entry.deployment_id, deployment_id), (Entry.expert_id, expert_id),
                          (Entry.activity_type, activity_type), (Entry.status, status)):
        if value is not None:
            query = query.where(column == value)
    if date_from is not None:
        query = query.where(Entry.work_date >= date_from)
    if date_to is not None:
        query = query.where(Entry.work_date <= date_to)
    if cursor:
        after = decode_cursor(cursor)
        query = query.where(tuple_(Entry.work_date, Entry.id) < tuple_(after.work_date, after.id))
    rows = list(
        (await session.execute(query.order_by(Entry.work_date.desc(), Entry.id.desc()).limit(limit + 1))).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return EntryPage(items=await entry_views(session, rows, grace_days),
                     next_cursor=encode_cursor(rows[-1]) if more and rows else None)
