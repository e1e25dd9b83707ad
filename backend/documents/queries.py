"""Read side of the evidence document: SQL aggregates over the counted entries, returned as Structs.

Counted = approved, not superseded by an approved revision, not deleted, at a deployment that was not
cancelled (docs/statistics.md §1). Deliberately independent of the roll-up tables: the document is
computed straight from the entries it lists, so its totals always match its own detail table.
The caller has already checked that the principal may export this expert (`backend.export.access`);
every query here is filtered by that one expert.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, Numeric, and_, case, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend import vocab
from backend.documents.content import (
    DeploymentLine,
    EntryLine,
    ExpertHeader,
    MonthFigures,
    SurgeryCount,
    TypeCount,
    WorkloadFigures,
    choice_label,
    key_figures,
    months_between,
    type_label,
)
from backend.models import Deployment, Entry, Institution, Trainee, User

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def counted(expert_id: uuid.UUID, date_from: date, date_to: date) -> ColumnElement[bool]:
    """The entries an evidence document counts (needs a join to `deployments`)."""
    return and_(
        Entry.expert_id == expert_id,
        Entry.status == "approved",
        Entry.superseded_by.is_(None),
        Entry.deleted_at.is_(None),
        Entry.work_date.between(date_from, date_to),
        Deployment.status != "cancelled",
    )


def _num(name: str) -> ColumnElement[Any]:
    # Only JSON numbers count; the catalogue validated them, but a cast of anything else would abort the query.
    value = Entry.fields[name]
    return case((func.jsonb_typeof(value) == "number", cast(value.astext, Numeric)), else_=None)


def _is(activity_type: str) -> ColumnElement[bool]:
    return Entry.activity_type == activity_type


def _attendance(status: str) -> ColumnElement[Any]:
    return func.count().filter(and_(_is("attendance"), Entry.fields["status"].astext == status))


def _figure_columns() -> list[ColumnElement[Any]]:
    zero = literal_column("0")
    patients = case(
        (
            _is("clinic"),
            func.coalesce(_num("patients_first_visit"), 0) + func.coalesce(_num("patients_follow_up"), 0),
        ),
        (_is("emergency"), func.coalesce(_num("patients"), 1)),  # a rescue is at least one patient
        else_=zero,
    )
    attendees = case(
        (_is("teaching_round"), func.coalesce(_num("attendees"), 0)),
        (_is("lecture"), func.coalesce(_num("audience_count"), 0)),
        else_=zero,
    )
    trainee = Entry.fields["trainee_id"].astext
    return [
        _attendance("present").label("on_site_days"),
        _attendance("travel").label("travel_days"),
        _attendance("leave").label("leave_days"),
        _attendance("off").label("off_days"),
        func.count().label("entries"),
        cast(func.coalesce(func.sum(patients), 0), Integer).label("patients"),
        func.count().filter(_is("surgery")).label("surgeries"),
        func.round(func.coalesce(func.sum(_num("hours")).filter(_is("lecture")), 0), 2).label(
            "teaching_hours"
        ),
        cast(func.coalesce(func.sum(attendees), 0), Integer).label("attendees"),
        cast(func.coalesce(func.sum(_num("people_served")).filter(_is("free_clinic")), 0), Integer).label(
            "people_served"
        ),
        func.count().filter(_is("new_technique")).label("new_techniques"),
        func.count(func.distinct(func.lower(trainee)))
        .filter(and_(_is("mentoring"), trainee.op("~")(UUID_PATTERN)))
        .label("trainees"),
    ]


def _figures(row: Any) -> WorkloadFigures:
    values = {name: getattr(row, name) for name in WorkloadFigures.__struct_fields__}
    values["teaching_hours"] = float(values["teaching_hours"])
    return WorkloadFigures(**values)


async def expert_header(session: AsyncSession, expert_id: uuid.UUID) -> ExpertHeader | None:
    stmt = (
        select(
            User.id,
            User.name,
            User.title,
            User.specialty,
            User.home_institution_id,
            Institution.name.label("home"),
        )
        .outerjoin(Institution, Institution.id == User.home_institution_id)
        .where(User.id == expert_id)
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        return None
    return ExpertHeader(
        id=row.id,
        name=row.name,
        title=vocab.TITLES.get(row.title or "", row.title),
        specialty=row.specialty,
        home_institution=row.home,
        home_institution_id=row.home_institution_id,
    )


async def deployments(
    session: AsyncSession, expert_id: uuid.UUID, date_from: date, date_to: date
) -> list[DeploymentLine]:
    """The expert's stays that overlap the period (cancelled ones never count)."""
    stmt = (
        select(Deployment, Institution.name.label("recipient"))
        .join(Institution, Institution.id == Deployment.recipient_id)
        .where(
            Deployment.expert_id == expert_id,
            Deployment.status != "cancelled",
            Deployment.starts_on <= date_to,
            func.coalesce(Deployment.actual_end, date_from) >= date_from,
        )
        .order_by(Deployment.starts_on, Deployment.id)
    )
    out = []
    for dep, recipient in (await session.execute(stmt)).all():
        out.append(
            DeploymentLine(
                recipient=recipient,
                department=dep.department,
                post=vocab.POSTS.get(dep.post, dep.post),
                starts_on=dep.starts_on,
                ends_on=dep.actual_end or dep.planned_end,
                end_is_planned=dep.actual_end is None,
                status=vocab.DEPLOYMENT_STATUSES.get(dep.status, dep.status),
            )
        )
    return out


async def figures(
    session: AsyncSession, expert_id: uuid.UUID, date_from: date, date_to: date
) -> tuple[WorkloadFigures, list[MonthFigures]]:
    """Totals and month-by-month figures in one pass: ROLLUP gives each month plus the grand total."""
    month = cast(func.date_trunc(literal_column("'month'"), Entry.work_date), Date)
    stmt = (
        select(month.label("month"), *_figure_columns())
        .join(Deployment, Deployment.id == Entry.deployment_id)
        .where(counted(expert_id, date_from, date_to))
        .group_by(func.rollup(month))
    )
    totals = WorkloadFigures()
    by_month: dict[str, WorkloadFigures] = {}
    for row in (await session.execute(stmt)).all():
        if row.month is None:
            totals = _figures(row)
        else:
            by_month[row.month.strftime("%Y-%m")] = _figures(row)
    months = [
        MonthFigures(month=m, figures=by_month.get(m, WorkloadFigures())) for m in months_between(date_from, date_to)
    ]
    return totals, months


async def type_counts(
    session: AsyncSession, expert_id: uuid.UUID, date_from: date, date_to: date
) -> list[TypeCount]:
    stmt = (
        select(Entry.activity_type, func.count().label("n"))
        .join(Deployment, Deployment.id == Entry.deployment_id)
        .where(counted(expert_id, date_from, date_to))
        .group_by(Entry.activity_type)
        .order_by(Entry.activity_type)
    )
    rows = (await session.execute(stmt)).all()
    return [TypeCount(activity_type=t, label=type_label(t), count=n) for t, n in rows]


async def surgery_counts(
    session: AsyncSession, expert_id: uuid.UUID, date_from: date, date_to: date
) -> list[SurgeryCount]:
    grade, role = Entry.fields["grade"].astext, Entry.fields["role"].astext
    stmt = (
        select(grade.label("grade"), role.label("role"), func.count().label("n"))
        .join(Deployment, Deployment.id == Entry.deployment_id)
        .where(counted(expert_id, date_from, date_to), _is("surgery"), grade.is_not(None), role.is_not(None))
        .group_by(grade, role)
        .order_by(grade, role)
    )
    return [
        SurgeryCount(
            grade=g,
            grade_label=choice_label("surgery", "grade", g),
            role=r,
            role_label=choice_label("surgery", "role", r),
            count=n,
        )
        for g, r, n in (await session.execute(stmt)).all()
    ]


async def entry_lines(
    session: AsyncSession, expert_id: uuid.UUID, date_from: date, date_to: date
) -> list[EntryLine]:
    """The counted entries themselves, oldest first, with the approver's name and the trainee's name."""
    reviewer = aliased(User)
    trainee_text = Entry.fields["trainee_id"].astext
    trainee_id = case(
        (trainee_text.op("~")(UUID_PATTERN), cast(trainee_text, UUID(as_uuid=True))), else_=None
    )
    stmt = (
        select(
            Entry.id,
            Entry.work_date,
            Entry.activity_type,
            Entry.fields,
            Entry.reviewed_at,
            reviewer.name.label("reviewer"),
            Institution.name.label("recipient"),
            Trainee.name.label("trainee"),
        )
        .join(Deployment, Deployment.id == Entry.deployment_id)
        .join(Institution, Institution.id == Entry.institution_id)
        .outerjoin(reviewer, reviewer.id == Entry.reviewed_by)
        .outerjoin(Trainee, Trainee.id == trainee_id)
        .where(counted(expert_id, date_from, date_to))
        .order_by(Entry.work_date, Entry.activity_type, Entry.created_at, Entry.id)
    )
    return [
        EntryLine(
            id=r.id,
            work_date=r.work_date,
            activity_type=r.activity_type,
            type_label=type_label(r.activity_type),
            figures=key_figures(r.activity_type, r.fields, r.trainee),
            recipient=r.recipient,
            approved_by=r.reviewer,
            approved_at=r.reviewed_at,
        )
        for r in (await session.execute(stmt)).all()
    ]


async def pending_count(session: AsyncSession, expert_id: uuid.UUID, date_from: date, date_to: date) -> int:
    """Entries waiting for review in the period: shown apart, never added to the figures."""
    stmt = (
        select(func.count())
        .select_from(Entry)
        .where(
            Entry.expert_id == expert_id,
            Entry.status == "submitted",
            Entry.deleted_at.is_(None),
            Entry.work_date.between(date_from, date_to),
        )
    )
    return int((await session.execute(stmt)).scalar_one())
