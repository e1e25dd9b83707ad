"""HR's promotion round (晋升材料批量导出): every expert of the caller's home hospital over one period, as one
ZIP of each expert's signed PDF and XLSX plus an index sheet, built by a background job.

A request records the round (queued) and queues the job in the same transaction; `round_job` builds it.
Who: HR of that hospital or an admin; a round of another hospital is "not found", like its experts.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import writer
from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, InvalidInput, NotFound
from backend.export.service import MAX_PERIOD_DAYS
from backend.http.deps import requires_role
from backend.jobs.queue import enqueue
from backend.models import Institution, PromotionRound

JOB = "export.round"
ZIP_TYPE = "application/zip"


class RoundCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A promotion round over one period (both days included); `institution_id` may be left out by HR of
    exactly one hospital, and is required for an admin."""

    date_from: date
    date_to: date
    institution_id: uuid.UUID | None = None


class RoundView(msgspec.Struct, kw_only=True):
    """A round and how far it got; `download_url` once `status` is `done`."""

    id: uuid.UUID
    institution_id: uuid.UUID
    date_from: date
    date_to: date
    status: Literal["queued", "running", "done", "failed"]
    progress: int
    experts_total: int
    experts_done: int
    error: str | None
    size: int | None
    sha256: str | None
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None


def zip_name(row: PromotionRound) -> str:
    return f"晋升材料_{row.date_from}_{row.date_to}.zip"


def _view(row: PromotionRound) -> RoundView:
    return RoundView(
        id=row.id,
        institution_id=row.institution_id,
        date_from=row.date_from,
        date_to=row.date_to,
        status=row.status,  # type: ignore[arg-type]
        progress=row.progress,
        experts_total=row.experts_total,
        experts_done=row.experts_done,
        error=row.error,
        size=row.size,
        sha256=row.sha256,
        created_at=row.created_at,
        finished_at=row.finished_at,
        download_url=f"/api/v1/exports/rounds/{row.id}/file" if row.status == "done" else None,
    )


def _check(data: RoundCreate, principal: Principal) -> uuid.UUID:
    errors: list[FieldError] = []
    if data.date_to < data.date_from:
        errors.append(FieldError(field="date_to", code="before_start", message="date_to is before date_from"))
    elif (data.date_to - data.date_from).days >= MAX_PERIOD_DAYS:
        errors.append(FieldError(field="date_to", code="too_long", message=f"at most {MAX_PERIOD_DAYS} days"))
    institution = data.institution_id
    if institution is None:
        if len(principal.hr_of) == 1 and not principal.is_admin:
            institution = next(iter(principal.hr_of))
        else:
            errors.append(
                FieldError(
                    field="institution_id",
                    code="required",
                    message="name the home hospital whose experts the round exports",
                )
            )
    if errors:
        raise InvalidInput(errors=errors)
    assert institution is not None
    return institution


def _in_scope(principal: Principal) -> object:
    return True if principal.is_admin else PromotionRound.institution_id.in_(principal.hr_of)


async def create_round(session: AsyncSession, principal: Principal, data: RoundCreate) -> RoundView:
    requires_role(principal, "hr", "admin")
    institution_id = _check(data, principal)
    known = await session.scalar(select(Institution.id).where(Institution.id == institution_id))
    if known is None or not (principal.is_admin or institution_id in principal.hr_of):
        raise NotFound("No such hospital")
    row = PromotionRound(
        id=uuid.uuid4(),
        institution_id=institution_id,
        requested_by=principal.user_id,
        date_from=data.date_from,
        date_to=data.date_to,
        status="queued",
        progress=0,
    )
    session.add(row)
    await session.flush()
    what = {
        "institution_id": str(institution_id),
        "date_from": data.date_from.isoformat(),
        "date_to": data.date_to.isoformat(),
    }
    await writer.record(
        session,
        principal,
        "export.round.create",
        "promotion_round",
        row.id,
        institution_id=institution_id,
        after=what,
        detail=what,
    )
    await enqueue(session, JOB, {"round_id": str(row.id)}, dedupe_key=f"{JOB}:{row.id}")
    await session.refresh(row)
    return _view(row)


async def _row(session: AsyncSession, principal: Principal, round_id: uuid.UUID) -> PromotionRound:
    row = await session.scalar(
        select(PromotionRound).where(PromotionRound.id == round_id, _in_scope(principal))  # type: ignore[arg-type]
    )
    if row is None:
        raise NotFound("No such promotion round")
    return row


async def get_round(session: AsyncSession, principal: Principal, round_id: uuid.UUID) -> RoundView:
    return _view(await _row(session, principal, round_id))


async def finished_round(session: AsyncSession, principal: Principal, round_id: uuid.UUID) -> PromotionRound:
    """The round, if it is done (409 with its progress otherwise)."""
    row = await _row(session, principal, round_id)
    if row.status != "done" or row.storage_key is None:
        raise Conflict(
            f"The round is {row.status}; the ZIP is available once it is done",
            extra={"status": row.status, "progress": row.progress},
        )
    return row
