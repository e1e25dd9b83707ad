"""Institutions: supporting hospitals, county hospitals, township and community health centres."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import vocab
from backend.admin import schemas as s
from backend.admin.common import changed, count_of, fail_if, flush_unique, snapshot
from backend.admin.rules import SUPPORTING, clamp_page, timezone_error
from backend.audit.writer import record
from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, NotFound
from backend.models import Agreement, Deployment, Institution


def view(inst: Institution) -> s.Institution:
    return s.Institution(
        id=inst.id, code=inst.code, name=inst.name, kind=inst.kind, kind_label_zh=vocab.INSTITUTION_KINDS[inst.kind],
        level=inst.level, level_label_zh=vocab.INSTITUTION_LEVELS[inst.level], province_code=inst.province_code,
        city_code=inst.city_code, county_code=inst.county_code, is_tcm=inst.is_tcm, timezone=inst.timezone,
        created_at=inst.created_at,
    )


def _choice_errors(kind: str | None, level: str | None) -> list[FieldError]:
    # The Structs already restrict these; the importer reaches here with plain strings too.
    errors = []
    if kind is not None and kind not in vocab.INSTITUTION_KINDS:
        errors.append(FieldError(field="kind", code="invalid_choice", message=f"Unknown institution kind {kind!r}"))
    if level is not None and level not in vocab.INSTITUTION_LEVELS:
        errors.append(FieldError(field="level", code="invalid_choice", message=f"Unknown level {level!r}"))
    return errors


async def _load(session: AsyncSession, institution_id: uuid.UUID, *, lock: bool = False) -> Institution:
    inst = await session.get(Institution, institution_id, with_for_update=lock)
    if inst is None:
        raise NotFound("No such institution")
    return inst


async def _code_taken(session: AsyncSession, code: str) -> None:
    if (await session.execute(select(Institution.id).where(Institution.code == code))).first():
        raise Conflict(f"The institution code {code!r} is taken", extra={"reason": "code_taken"})


async def create_institution(session: AsyncSession, actor: Principal | None, data: s.InstitutionCreate, *,
                             audited: bool = True) -> s.Institution:
    """Register an institution; its code is unique and its timezone an IANA zone (`audited=False`: the caller
    records one event for a whole batch)."""
    errors = _choice_errors(data.kind, data.level)
    if (tz := timezone_error(data.timezone)) is not None:
        errors.append(tz)
    fail_if(errors)
    await _code_taken(session, data.code)
    inst = Institution(id=uuid.uuid4(), code=data.code, name=data.name.strip(), kind=data.kind, level=data.level,
                       province_code=data.province_code, city_code=data.city_code, county_code=data.county_code,
                       is_tcm=data.is_tcm, timezone=data.timezone)
    session.add(inst)
    await flush_unique(session, f"The institution code {data.code!r} is taken", "code_taken")
    await session.refresh(inst)
    result = view(inst)
    if audited:
        await record(session, actor, "create", "institution", inst.id, after=snapshot(result), institution_id=inst.id)
    return result


async def get_institution(session: AsyncSession, institution_id: uuid.UUID) -> s.Institution:
    return view(await _load(session, institution_id))


async def list_institutions(session: AsyncSession, *, kind: str | None = None, region: str | None = None,
                            q: str | None = None, is_tcm: bool | None = None, limit: int = 50,
                            offset: int = 0) -> s.InstitutionPage:
    """Institutions filtered by kind, region code (province, city or county) and name/code search."""
    limit, offset = clamp_page(limit, offset)
    query = select(Institution)
    if kind is not None:
        query = query.where(Institution.kind == kind)
    if region:
        query = query.where(or_(Institution.province_code == region, Institution.city_code == region,
                                Institution.county_code == region))
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Institution.name.ilike(pattern), Institution.code.ilike(pattern)))
    if is_tcm is not None:
        query = query.where(Institution.is_tcm.is_(is_tcm))
    total = await count_of(session, query)
    rows = (await session.execute(query.order_by(Institution.code).limit(limit).offset(offset))).scalars().all()
    return s.InstitutionPage(items=[view(r) for r in rows], total=total, limit=limit, offset=offset)


async def _is_party(session: AsyncSession, institution_id: uuid.UUID) -> bool:
    in_agreement = exists().where(or_(Agreement.supporting_id == institution_id, Agreement.recipient_id == institution_id))
    hosts = exists().where(Deployment.recipient_id == institution_id)
    return bool((await session.execute(select(or_(in_agreement, hosts)))).scalar_one())


async def update_institution(session: AsyncSession, actor: Principal | None, institution_id: uuid.UUID,
                             data: s.InstitutionUpdate) -> s.Institution:
    """Change an institution's fields; a kind that would flip its side in existing agreements is refused."""
    inst = await _load(session, institution_id, lock=True)
    before = view(inst)
    fields = changed(data)
    errors = _choice_errors(fields.get("kind"), fields.get("level"))
    if "timezone" in fields and (tz := timezone_error(fields["timezone"])) is not None:
        errors.append(tz)
    fail_if(errors)
    if "code" in fields and fields["code"] != inst.code:
        await _code_taken(session, fields["code"])
    new_kind = fields.get("kind", inst.kind)
    if (new_kind == SUPPORTING) != (inst.kind == SUPPORTING) and await _is_party(session, inst.id):
        raise Conflict("The institution is already a party to agreements or deployments on its current side",
                       extra={"reason": "kind_in_use"})
    for key, value in fields.items():
        setattr(inst, key, value.strip() if key == "name" else value)
    await flush_unique(session, "The institution code is taken", "code_taken")
    result = view(inst)
    await record(session, actor, "update", "institution", inst.id, before=snapshot(before), after=snapshot(result),
                 institution_id=inst.id)
    return result
