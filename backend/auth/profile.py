"""The caller's profile, roles with scopes, and deployments (read side for `GET /api/v1/me`)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend import vocab
from backend.auth.principal import Principal
from backend.models import Deployment, Institution, RoleGrant, User


class RoleScope(msgspec.Struct, kw_only=True):
    role: str
    label_zh: str
    institution_id: uuid.UUID | None = None
    institution_name: str | None = None


class DeploymentView(msgspec.Struct, kw_only=True):
    """A stay as the phone sees it, with the window in which entries may be dated."""

    id: uuid.UUID
    recipient_id: uuid.UUID
    recipient_name: str
    recipient_timezone: str
    agreement_id: uuid.UUID | None
    department: str
    post: str
    post_label_zh: str
    starts_on: date
    planned_end: date | None
    actual_end: date | None
    status: str
    editable_from: date
    editable_until: date | None


class Profile(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    username: str
    name: str
    phone: str | None
    title: str | None
    title_label_zh: str | None
    specialty: str | None
    home_institution_id: uuid.UUID | None
    home_institution_name: str | None
    roles: list[RoleScope]
    deployments: list[DeploymentView]


def deployment_view(d: Deployment, inst: Institution, grace_days: int) -> DeploymentView:
    end = d.actual_end or d.planned_end
    return DeploymentView(
        id=d.id,
        recipient_id=inst.id,
        recipient_name=inst.name,
        recipient_timezone=inst.timezone,
        agreement_id=d.agreement_id,
        department=d.department,
        post=d.post,
        post_label_zh=vocab.POSTS.get(d.post, d.post),
        starts_on=d.starts_on,
        planned_end=d.planned_end,
        actual_end=d.actual_end,
        status=d.status,
        editable_from=d.starts_on,
        editable_until=end + timedelta(days=grace_days) if end else None,
    )


async def deployments_of(session: AsyncSession, expert_id: uuid.UUID, grace_days: int) -> list[DeploymentView]:
    rows = (
        await session.execute(
            select(Deployment, Institution)
            .join(Institution, Institution.id == Deployment.recipient_id)
            .where(Deployment.expert_id == expert_id, Deployment.status != "cancelled")
            .order_by(Deployment.starts_on.desc())
        )
    ).all()
    return [deployment_view(d, inst, grace_days) for d, inst in rows]


async def profile_of(session: AsyncSession, principal: Principal, grace_days: int) -> Profile:
    home = aliased(Institution)
    user, home_name = (
        await session.execute(
            select(User, home.name).outerjoin(home, home.id == User.home_institution_id).where(User.id == principal.user_id)
        )
    ).one()
    grants = (
        await session.execute(
            select(RoleGrant.role, RoleGrant.institution_id, Institution.name)
            .outerjoin(Institution, Institution.id == RoleGrant.institution_id)
            .where(RoleGrant.user_id == principal.user_id)
            .order_by(RoleGrant.role, Institution.name)
        )
    ).all()
    return Profile(
        id=user.id,
        username=user.username,
        name=user.name,
        phone=user.phone,
        title=user.title,
        title_label_zh=vocab.TITLES.get(user.title) if user.title else None,
        specialty=user.specialty,
        home_institution_id=user.home_institution_id,
        home_institution_name=home_name,
        roles=[
            RoleScope(role=r, label_zh=vocab.ROLES[r], institution_id=i, institution_name=n) for r, i, n in grants
        ],
        deployments=await deployments_of(session, user.id, grace_days) if principal.is_expert else [],
    )
