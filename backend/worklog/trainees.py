"""Backbone trainees (骨干): local staff recorded once at a recipient hospital and referred to by id in mentoring."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import writer as audit
from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, InvalidInput
from backend.models import Deployment, Trainee
from backend.worklog.privacy import scan_text_fields

Text100 = Annotated[str, msgspec.Meta(max_length=100)]


class TraineeCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A local staff member; `id` may be chosen by the phone so an offline mentoring entry can refer to it."""

    id: uuid.UUID | None = None
    institution_id: uuid.UUID
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    post: Text100 | None = None
    department: Text100 | None = None


class TraineeOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    institution_id: uuid.UUID
    name: str
    post: str | None
    department: str | None
    created_by: uuid.UUID
    created_at: datetime


def _out(t: Trainee) -> TraineeOut:
    return TraineeOut(id=t.id, institution_id=t.institution_id, name=t.name, post=t.post, department=t.department,
                      created_by=t.created_by, created_at=t.created_at)


def _deployed_at(principal: Principal) -> ColumnElement[bool]:
    return Trainee.institution_id.in_(select(Deployment.recipient_id).where(
        Deployment.expert_id == principal.user_id, Deployment.status != "cancelled"))


def trainee_scope(principal: Principal) -> ColumnElement[bool]:
    """Trainees the caller may see: at the hospitals of their deployments, at supervised hospitals, or all."""
    if principal.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.is_expert:
        clauses.append(_deployed_at(principal))
    if principal.supervised:
        clauses.append(Trainee.institution_id.in_(principal.supervised))
    return or_(*clauses) if clauses else false()


async def create_trainee(session: AsyncSession, principal: Principal,
                         data: TraineeCreate) -> tuple[TraineeOut, bool]:
    """Record a trainee at one of the expert's deployment hospitals; the same id and content again is a no-op."""
    values = {"name": data.name.strip(), "post": (data.post or "").strip() or None,
              "department": (data.department or "").strip() or None}
    errors = scan_text_fields({k: v for k, v in values.items() if v})
    if not values["name"]:
        errors.append(FieldError(field="name", code="required", message="The trainee's name is required"))
    deployed = await session.scalar(select(Deployment.id).where(
        Deployment.expert_id == principal.user_id, Deployment.recipient_id == data.institution_id,
        Deployment.status != "cancelled").limit(1))
    if deployed is None:
        errors.append(FieldError(field="institution_id", code="not_your_hospital",
                                 message="Trainees are recorded at a hospital you are deployed to"))
    if errors:
        raise InvalidInput(errors=errors)
    trainee_id = data.id or uuid.uuid4()
    existing = await session.get(Trainee, trainee_id)
    if existing is not None:
        same = (existing.institution_id, existing.name, existing.post, existing.department) == (
            data.institution_id, values["name"], values["post"], values["department"])
        if existing.created_by == principal.user_id and same:
            return _out(existing), False
        current = _out(existing) if existing.created_by == principal.user_id else None
        raise Conflict("A trainee with this id already exists with other details",
                       extra={"reason": "id_conflict", **({"current": current} if current else {})})
    trainee = Trainee(id=trainee_id, institution_id=data.institution_id, created_by=principal.user_id, **values)
    session.add(trainee)
    await session.flush()
    await session.refresh(trainee)
    await audit.record(session, principal, "trainee.create", "trainee", trainee.id,
                       after=msgspec.to_builtins(_out(trainee)), institution_id=trainee.institution_id)
    return _out(trainee), True


async def list_trainees(session: AsyncSession, principal: Principal, *,
                        institution_id: uuid.UUID | None = None, limit: int = 500) -> list[TraineeOut]:
    """Trainees in the caller's scope, by hospital and name."""
    query = select(Trainee).where(trainee_scope(principal))
    if institution_id is not None:
        query = query.where(Trainee.institution_id == institution_id)
    rows = await session.execute(query.order_by(Trainee.institution_id, Trainee.name, Trainee.id).limit(limit))
    return [_out(t) for t in rows.scalars()]


async def trainees_at(session: AsyncSession, institution_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Trainee id → hospital, for the hospitals given (what the mentoring rule checks against)."""
    if not institution_ids:
        return {}
    rows = await session.execute(select(Trainee.id, Trainee.institution_id)
                                 .where(Trainee.institution_id.in_(institution_ids)))
    return {r[0]: r[1] for r in rows}
