"""Experts as supervisors and HR see them: only those in the caller's scope, with the stays they may see."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend import vocab
from backend.admin import schemas as s
from backend.admin.common import count_of
from backend.admin.rules import clamp_page
from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.models import Deployment, Institution, RoleGrant, User
from backend.scope import expert_scope


def deployment_scope(principal: Principal) -> ColumnElement[bool]:
    """Stays the caller may see: at supervised hospitals, of experts from HR's hospital, their own, or all."""
    if principal.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.is_expert:
        clauses.append(Deployment.expert_id == principal.user_id)
    if principal.supervised:
        clauses.append(Deployment.recipient_id.in_(principal.supervised))
    if principal.hr_of:
        clauses.append(Deployment.expert_id.in_(select(User.id).where(User.home_institution_id.in_(principal.hr_of))))
    return or_(*clauses) if clauses else false()


def _is_expert() -> ColumnElement[bool]:
    return exists().where(RoleGrant.user_id == User.id, RoleGrant.role == "expert")


async def _views(session: AsyncSession, principal: Principal, users: list[User]) -> list[s.Expert]:
    ids = [u.id for u in users]
    stays = (await session.execute(
        select(Deployment, Institution.name).join(Institution, Institution.id == Deployment.recipient_id)
        .where(Deployment.expert_id.in_(ids), deployment_scope(principal))
        .order_by(Deployment.starts_on.desc()))).all()
    homes = dict((await session.execute(select(Institution.id, Institution.name).where(
        Institution.id.in_({u.home_institution_id for u in users if u.home_institution_id})))).all())
    by_expert: dict[uuid.UUID, list[s.ExpertStay]] = {i: [] for i in ids}
    for d, recipient_name in stays:
        by_expert[d.expert_id].append(s.ExpertStay(
            id=d.id, recipient_id=d.recipient_id, recipient_name=recipient_name, department=d.department,
            post=d.post, post_label_zh=vocab.POSTS[d.post], starts_on=d.starts_on, planned_end=d.planned_end,
            actual_end=d.actual_end, status=d.status))
    return [s.Expert(id=u.id, username=u.username, name=u.name, title=u.title,
                     title_label_zh=vocab.TITLES.get(u.title) if u.title else None, specialty=u.specialty,
                     home_institution_id=u.home_institution_id, home_institution_name=homes.get(u.home_institution_id),
                     is_active=u.is_active, deployments=by_expert[u.id]) for u in users]


async def list_experts(session: AsyncSession, principal: Principal, *, institution_id: uuid.UUID | None = None,
                       q: str | None = None, limit: int = 50, offset: int = 0) -> s.ExpertPage:
    """Experts in scope; `institution_id` narrows to those stationed there or employed there."""
    limit, offset = clamp_page(limit, offset)
    query = select(User).where(_is_expert(), expert_scope(principal))
    if institution_id is not None:
        query = query.where(or_(
            User.home_institution_id == institution_id,
            User.id.in_(select(Deployment.expert_id).where(Deployment.recipient_id == institution_id,
                                                          deployment_scope(principal)))))
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.name.ilike(pattern), User.username.ilike(pattern)))
    total = await count_of(session, query)
    users = list((await session.execute(query.order_by(User.name, User.id).limit(limit).offset(offset))).scalars())
    return s.ExpertPage(items=await _views(session, principal, users), total=total, limit=limit, offset=offset)


async def get_expert(session: AsyncSession, principal: Principal, expert_id: uuid.UUID) -> s.Expert:
    """One expert in scope; anyone else's answers 404 as if they did not exist."""
    user = (await session.execute(select(User).where(User.id == expert_id, _is_expert(), expert_scope(principal)))
            ).scalar_one_or_none()
    if user is None:
        raise NotFound("No such expert")
    return (await _views(session, principal, [user]))[0]
