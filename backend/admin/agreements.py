"""Agreements between a supporting and a recipient institution, with targets stored per year."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend import vocab
from backend.admin import schemas as s
from backend.admin.common import changed, count_of, fail_if, snapshot
from backend.admin.rules import clamp_page, merge_targets, party_errors, period_errors
from backend.audit.writer import record
from backend.auth.principal import Principal
from backend.errors import FieldError, NotFound
from backend.models import Agreement, AgreementTarget, Institution

_S = aliased(Institution)
_R = aliased(Institution)


def _query() -> Select[tuple[Agreement, str, str]]:
    return (select(Agreement, _S.name, _R.name)
            .join(_S, _S.id == Agreement.supporting_id).join(_R, _R.id == Agreement.recipient_id))


async def _targets(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[s.Targets]]:
    found: dict[uuid.UUID, list[s.Targets]] = {i: [] for i in ids}
    rows = (await session.execute(select(AgreementTarget).where(AgreementTarget.agreement_id.in_(ids))
                                  .order_by(AgreementTarget.year))).scalars().all()
    for t in rows:
        found[t.agreement_id].append(s.Targets(
            year=t.year, min_staff=t.min_staff, min_leaders=t.min_leaders,
            min_continuous_months=t.min_continuous_months, min_trainees=t.min_trainees,
            min_new_techniques=t.min_new_techniques, full_year_coverage=t.full_year_coverage))
    return found


def _view(a: Agreement, supporting_name: str, recipient_name: str, targets: list[s.Targets]) -> s.Agreement:
    return s.Agreement(id=a.id, name=a.name, programme=a.programme, programme_label_zh=vocab.PROGRAMMES[a.programme],
                       supporting_id=a.supporting_id, supporting_name=supporting_name, recipient_id=a.recipient_id,
                       recipient_name=recipient_name, starts_on=a.starts_on, ends_on=a.ends_on, targets=targets,
                       created_at=a.created_at)


async def get_agreement(session: AsyncSession, agreement_id: uuid.UUID) -> s.Agreement:
    row = (await session.execute(_query().where(Agreement.id == agreement_id)
                                 .execution_options(populate_existing=True))).one_or_none()
    if row is None:
        raise NotFound("No such agreement")
    return _view(row[0], row[1], row[2], (await _targets(session, [agreement_id]))[agreement_id])


async def list_agreements(session: AsyncSession, *, supporting_id: uuid.UUID | None = None,
                          recipient_id: uuid.UUID | None = None, institution_id: uuid.UUID | None = None,
                          programme: str | None = None, year: int | None = None, limit: int = 50,
                          offset: int = 0) -> s.AgreementPage:
    """Agreements by party, programme, or running in a year."""
    limit, offset = clamp_page(limit, offset)
    query = _query()
    if supporting_id is not None:
        query = query.where(Agreement.supporting_id == supporting_id)
    if recipient_id is not None:
        query = query.where(Agreement.recipient_id == recipient_id)
    if institution_id is not None:
        query = query.where(or_(Agreement.supporting_id == institution_id,
                                Agreement.recipient_id == institution_id))
    if programme is not None:
        query = query.where(Agreement.programme == programme)
    if year is not None:
        query = query.where(Agreement.starts_on <= date(year, 12, 31),
                            or_(Agreement.ends_on.is_(None), Agreement.ends_on >= date(year, 1, 1)))
    total = await count_of(session, query)
    rows = (await session.execute(query.order_by(Agreement.starts_on.desc(), Agreement.id)
                                  .limit(limit).offset(offset))).all()
    targets = await _targets(session, [r[0].id for r in rows])
    items = [_view(r[0], r[1], r[2], targets[r[0].id]) for r in rows]
    return s.AgreementPage(items=items, total=total, limit=limit, offset=offset)


async def create_agreement(session: AsyncSession, actor: Principal | None, data: s.AgreementCreate) -> s.Agreement:
    """Pair a supporting hospital with a recipient (not itself a supporting hospital) for a period."""
    kinds = dict((await session.execute(select(Institution.id, Institution.kind)
                                        .where(Institution.id.in_([data.supporting_id, data.recipient_id])))).all())
    errors = party_errors(kinds.get(data.supporting_id), kinds.get(data.recipient_id))
    errors += period_errors(data.starts_on, data.ends_on)
    if data.programme not in vocab.PROGRAMMES:
        errors.append(FieldError(field="programme", code="invalid_choice", message=f"Unknown programme {data.programme!r}"))
    fail_if(errors)
    agreement = Agreement(id=uuid.uuid4(), name=data.name.strip(), programme=data.programme,
                          supporting_id=data.supporting_id, recipient_id=data.recipient_id, starts_on=data.starts_on,
                          ends_on=data.ends_on)
    session.add(agreement)
    await session.flush()
    result = await get_agreement(session, agreement.id)
    await record(session, actor, "create", "agreement", agreement.id, after=snapshot(result),
                 institution_id=data.recipient_id)
    return result


async def update_agreement(session: AsyncSession, actor: Principal | None, agreement_id: uuid.UUID,
                           data: s.AgreementUpdate) -> s.Agreement:
    """Rename, re-programme or re-date an agreement (its parties never change: make a new one)."""
    agreement = await session.get(Agreement, agreement_id, with_for_update=True)
    if agreement is None:
        raise NotFound("No such agreement")
    before = await get_agreement(session, agreement_id)
    fields = changed(data)
    fail_if(period_errors(fields.get("starts_on", agreement.starts_on), fields.get("ends_on", agreement.ends_on)))
    for key, value in fields.items():
        setattr(agreement, key, value.strip() if key == "name" else value)
    await session.flush()
    result = await get_agreement(session, agreement_id)
    await record(session, actor, "update", "agreement", agreement_id, before=snapshot(before), after=snapshot(result),
                 institution_id=agreement.recipient_id)
    return result


async def put_targets(session: AsyncSession, actor: Principal | None, agreement_id: uuid.UUID, year: int,
                      data: s.TargetsPut) -> s.Targets:
    """Set a year's targets; fields left out take the national defaults (3 staff for a TCM recipient)."""
    row = (await session.execute(select(Agreement, Institution.is_tcm).join(Institution, Institution.id ==
                                 Agreement.recipient_id).where(Agreement.id == agreement_id))).one_or_none()
    if row is None:
        raise NotFound("No such agreement")
    agreement, is_tcm = row
    last = agreement.ends_on.year if agreement.ends_on else 2100
    if not max(agreement.starts_on.year, 2000) <= year <= last:
        fail_if([FieldError(field="year", code="outside_agreement", message=f"{year} is outside the agreement's period")])
    values = merge_targets({f: getattr(data, f) for f in data.__struct_fields__}, bool(is_tcm))
    before = (await _targets(session, [agreement_id]))[agreement_id]
    stmt = insert(AgreementTarget).values(agreement_id=agreement_id, year=year, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["agreement_id", "year"], set_=values))
    result = s.Targets(year=year, **values)
    old = next((t for t in before if t.year == year), None)
    await record(session, actor, "set_targets", "agreement", agreement_id,
                 before=snapshot(old) if old else None, after=snapshot(result), institution_id=agreement.recipient_id)
    return result
