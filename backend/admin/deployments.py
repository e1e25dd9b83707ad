"""Deployments (派驻): an expert's stay at a recipient institution; every change reaches the expert's phone."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import feed, vocab
from backend.admin import schemas as s
from backend.admin.common import changed, count_of, fail_if, snapshot
from backend.admin.rules import (
    SUPPORTING,
    AgreementFacts,
    agreement_link_errors,
    clamp_page,
    covering,
    default_status,
    deployment_errors,
)
from backend.audit.writer import record
from backend.auth.principal import Principal
from backend.errors import FieldError, NotFound
from backend.models import Agreement, Deployment, Institution, RoleGrant, User


def _query() -> Select[tuple[Deployment, str, str]]:
    return (select(Deployment, User.name, Institution.name)
            .join(User, User.id == Deployment.expert_id).join(Institution, Institution.id == Deployment.recipient_id))


def _view(d: Deployment, expert_name: str, recipient_name: str) -> s.Deployment:
    return s.Deployment(
        id=d.id, expert_id=d.expert_id, expert_name=expert_name, recipient_id=d.recipient_id,
        recipient_name=recipient_name, agreement_id=d.agreement_id, department=d.department, post=d.post,
        post_label_zh=vocab.POSTS[d.post], starts_on=d.starts_on, planned_end=d.planned_end, actual_end=d.actual_end,
        status=d.status, status_label_zh=vocab.DEPLOYMENT_STATUSES[d.status], created_at=d.created_at,
        updated_at=d.updated_at,
    )


async def get_deployment(session: AsyncSession, deployment_id: uuid.UUID) -> s.Deployment:
    row = (await session.execute(_query().where(Deployment.id == deployment_id)
                                 .execution_options(populate_existing=True))).one_or_none()
    if row is None:
        raise NotFound("No such deployment")
    return _view(*row)


async def list_deployments(session: AsyncSession, *, expert_id: uuid.UUID | None = None,
                           recipient_id: uuid.UUID | None = None, agreement_id: uuid.UUID | None = None,
                           status: str | None = None, active_on: date | None = None, limit: int = 50,
                           offset: int = 0) -> s.DeploymentPage:
    limit, offset = clamp_page(limit, offset)
    query = _query()
    for column, value in ((Deployment.expert_id, expert_id), (Deployment.recipient_id, recipient_id),
                          (Deployment.agreement_id, agreement_id), (Deployment.status, status)):
        if value is not None:
            query = query.where(column == value)
    if active_on is not None:
        end = Deployment.actual_end
        query = query.where(Deployment.starts_on <= active_on, Deployment.status != "cancelled",
                            or_(end >= active_on, (end.is_(None) & or_(Deployment.planned_end.is_(None),
                                                                       Deployment.planned_end >= active_on))))
    total = await count_of(session, query)
    rows = (await session.execute(query.order_by(Deployment.starts_on.desc(), Deployment.id)
                                  .limit(limit).offset(offset))).all()
    return s.DeploymentPage(items=[_view(*r) for r in rows], total=total, limit=limit, offset=offset)


async def _agreement_facts(session: AsyncSession, where: object) -> list[AgreementFacts]:
    rows = (await session.execute(select(Agreement.id, Agreement.supporting_id, Agreement.recipient_id,
                                         Agreement.starts_on, Agreement.ends_on).where(where))).all()  # type: ignore[arg-type]
    return [AgreementFacts(*r) for r in rows]


async def create_deployment(session: AsyncSession, actor: Principal | None, data: s.DeploymentCreate,
                            *, today: date | None = None, audited: bool = True) -> s.Deployment:
    """Station an expert at a recipient; the agreement, named or found, must be the expert's home's own."""
    errors: list[FieldError] = []
    expert = (await session.execute(
        select(User.id, User.home_institution_id, User.is_active,
               exists().where(RoleGrant.user_id == User.id, RoleGrant.role == "expert").label("is_expert"))
        .where(User.id == data.expert_id))).one_or_none()
    if expert is None:
        errors.append(FieldError(field="expert_id", code="not_found", message="No such user"))
    elif not expert.is_expert:
        errors.append(FieldError(field="expert_id", code="not_expert", message="The user does not hold the expert role"))
    elif not expert.is_active:
        errors.append(FieldError(field="expert_id", code="disabled", message="The user is disabled"))
    recipient = (await session.execute(select(Institution.kind, Institution.timezone)
                                       .where(Institution.id == data.recipient_id))).one_or_none()
    recipient_kind = recipient.kind if recipient else None
    if recipient_kind is None:
        errors.append(FieldError(field="recipient_id", code="not_found", message="No such institution"))
    elif recipient_kind == SUPPORTING:
        errors.append(FieldError(field="recipient_id", code="not_recipient",
                                 message="Experts are stationed at a recipient institution, not a supporting hospital"))
    # "Today" is the recipient's local date: a stay starting tomorrow in Urumqi may already be today in UTC+8.
    local_today = today or datetime.now(ZoneInfo(recipient.timezone if recipient else "Asia/Shanghai")).date()
    status = data.status or default_status(data.starts_on, local_today)
    errors += deployment_errors(data.starts_on, data.planned_end, None, status)
    agreement_id = data.agreement_id
    if expert is not None and recipient_kind is not None:
        home = expert.home_institution_id
        if agreement_id is not None:
            facts = await _agreement_facts(session, Agreement.id == agreement_id)
            if not facts:
                errors.append(FieldError(field="agreement_id", code="not_found", message="No such agreement"))
            else:
                errors += agreement_link_errors(facts[0], recipient_id=data.recipient_id, home_id=home,
                                                starts_on=data.starts_on)
        elif home is not None:
            candidates = await _agreement_facts(session, (Agreement.recipient_id == data.recipient_id)
                                                & (Agreement.supporting_id == home))
            found = covering(candidates, recipient_id=data.recipient_id, home_id=home, starts_on=data.starts_on)
            agreement_id = found.id if found else None
    fail_if(errors)
    dep = Deployment(id=uuid.uuid4(), expert_id=data.expert_id, recipient_id=data.recipient_id,
                     agreement_id=agreement_id, department=data.department.strip(), post=data.post,
                     starts_on=data.starts_on, planned_end=data.planned_end, status=status)
    session.add(dep)
    await session.flush()
    await feed.touch(session, dep.expert_id, "deployment", [dep.id])
    result = await get_deployment(session, dep.id)
    if audited:
        await record(session, actor, "create", "deployment", dep.id, after=snapshot(result),
                     institution_id=data.recipient_id)
    return result


async def update_deployment(session: AsyncSession, actor: Principal | None, deployment_id: uuid.UUID,
                            data: s.DeploymentUpdate) -> s.Deployment:
    """End, cancel or amend a stay; the expert's phone learns of it on its next pull."""
    dep = await session.get(Deployment, deployment_id, with_for_update=True)
    if dep is None:
        raise NotFound("No such deployment")
    before = await get_deployment(session, deployment_id)
    fields = changed(data)
    fail_if(deployment_errors(dep.starts_on, fields.get("planned_end", dep.planned_end),
                              fields.get("actual_end", dep.actual_end), fields.get("status", dep.status)))
    for key, value in fields.items():
        setattr(dep, key, value.strip() if key == "department" else value)
    await session.flush()
    await feed.touch(session, dep.expert_id, "deployment", [dep.id])
    result = await get_deployment(session, deployment_id)
    await record(session, actor, "update", "deployment", deployment_id, before=snapshot(before),
                 after=snapshot(result), institution_id=dep.recipient_id)
    return result
