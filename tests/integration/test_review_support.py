"""Helpers shared by the review, revision, month and audit tests (this module holds no tests itself)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.models import Entry, RoleGrant, User
from backend.review import service
from backend.settings import Settings
from backend.worklog.schemas import EntryCreate, EntryOut
from backend.worklog.service import create_entry

CLINIC = {"session": "am", "patients_first_visit": 12}
SURGERY = {"procedure_name": "腹腔镜胆囊切除术", "grade": "grade_3", "role": "primary"}


async def principal_of(session: AsyncSession, user: User, device_id: str | None = None) -> Principal:
    """The Principal a signed-in user would have, read from their role grants."""
    grants = (await session.execute(select(RoleGrant.role, RoleGrant.institution_id)
                                    .where(RoleGrant.user_id == user.id))).all()
    return Principal(
        user_id=user.id, username=user.username, name=user.name, device_id=device_id, session_id=None,
        roles=frozenset(r for r, _ in grants),
        supervised=frozenset(i for r, i in grants if r == "supervisor" and i is not None),
        hr_of=frozenset(i for r, i in grants if r == "hr" and i is not None),
        home_institution_id=user.home_institution_id,
    )


def entry_body(deployment_id: uuid.UUID, *, work_date: date | None = None, activity_type: str = "clinic",
               fields: dict[str, Any] | None = None, entry_id: uuid.UUID | None = None) -> EntryCreate:
    return EntryCreate(id=entry_id or uuid.uuid4(), deployment_id=deployment_id,
                       work_date=work_date or date.today() - timedelta(days=3), activity_type=activity_type,
                       fields=dict(fields if fields is not None else (SURGERY if activity_type == "surgery"
                                                                      else CLINIC)))


async def make_entry(session: AsyncSession, settings: Settings, world: Any, who: str = "expert_a", *,
                     submit: bool = False, commit: bool = True, **kw: Any) -> EntryOut:
    """A draft (or, with submit=True, a submitted entry) of one of the world's experts."""
    expert: User = getattr(world, who)
    deployment = getattr(world, who.replace("expert", "deployment"))
    principal = await principal_of(session, expert)
    out, _ = await create_entry(session, principal, entry_body(deployment.id, **kw), settings)
    if submit:
        out = await service.submit_entry(session, principal, out.id, None, settings)
    if commit:
        await session.commit()
    return out


async def entry_row(session: AsyncSession, entry_id: uuid.UUID) -> Entry:
    query = select(Entry).where(Entry.id == entry_id).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one()


async def counted(session: AsyncSession, *ids: uuid.UUID) -> set[uuid.UUID]:
    """Of these entries, the ones that count in the figures: approved and not replaced by a revision."""
    rows = await session.execute(select(Entry.id).where(Entry.id.in_(ids), Entry.status == "approved",
                                                        Entry.superseded_by.is_(None), Entry.deleted_at.is_(None)))
    return set(rows.scalars())
