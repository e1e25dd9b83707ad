"""Use cases of the monthly summary (月度工作小结): read the draft, write it, submit it, review it.

The expert writes only their own (anyone else gets 404); the supervisors of the hospitals where the
expert was stationed that month review it; HR of the home hospital and admins read it. Each change is
one audit event. Submitting freezes the month's figures into the summary, so what the supervisor
approved is what every later document shows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import writer as audit
from backend.auth.principal import Principal
from backend.documents import queries
from backend.documents.content import ExpertHeader
from backend.errors import FieldError, InvalidInput, NotFound
from backend.models import Deployment, MonthlySummary, User
from backend.reports import rules
from backend.reports.monthly import month_content, recipients_in_month
from backend.reports.rules import SummaryAction, SummaryState
from backend.reports.schemas import MonthlySummaryOut, SummaryContent, SummaryListItem, month_key


async def _header(session: AsyncSession, principal: Principal, expert_id: uuid.UUID, month: date) -> ExpertHeader:
    """The expert, if the caller may read their month; 404 as if they did not exist otherwise.

    The expert themself, HR of their home hospital and admins read every month; a supervisor reads the
    months in which the expert was stationed at one of their hospitals (not the months spent elsewhere).
    """
    header = await queries.expert_header(session, expert_id)
    allowed = header is not None and (
        principal.is_admin
        or (principal.is_expert and expert_id == principal.user_id)
        or header.home_institution_id in principal.hr_of
        or bool(principal.supervised.intersection(await recipients_in_month(session, expert_id, month)))
    )
    if header is None or not allowed:
        raise NotFound("No such expert")
    return header


def summary_scope(principal: Principal) -> ColumnElement[bool]:
    """Summaries the caller may list: the same reach as `_header`, as a filter on monthly_summaries."""
    if principal.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.is_expert:
        clauses.append(MonthlySummary.expert_id == principal.user_id)
    if principal.hr_of:
        clauses.append(MonthlySummary.expert_id.in_(
            select(User.id).where(User.home_institution_id.in_(principal.hr_of))))
    if principal.supervised:
        last = MonthlySummary.month + text("interval '1 month' - interval '1 day'")
        clauses.append(exists().where(
            Deployment.expert_id == MonthlySummary.expert_id, Deployment.recipient_id.in_(principal.supervised),
            Deployment.status != "cancelled", Deployment.starts_on <= last,
            func.coalesce(Deployment.actual_end, Deployment.planned_end, MonthlySummary.month) >= MonthlySummary.month))
    return or_(*clauses) if clauses else false()


def _own(principal: Principal, expert_id: uuid.UUID) -> None:
    # Only the expert writes their summary; to anyone else the expert's summary is not there to write.
    if expert_id != principal.user_id:
        raise NotFound("No such expert")


async def _row(session: AsyncSession, expert_id: uuid.UUID, month: date, *, lock: bool) -> MonthlySummary | None:
    query = select(MonthlySummary).where(MonthlySummary.expert_id == expert_id, MonthlySummary.month == month)
    return (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


def _state_of(row: MonthlySummary) -> dict[str, Any]:
    return {"id": str(row.id), "expert_id": str(row.expert_id), "month": month_key(row.month), "state": row.state,
            "narrative": row.narrative, "review_comment": row.review_comment, "figures": row.figures}


async def _view(session: AsyncSession, header: ExpertHeader, month: date, row: MonthlySummary | None) -> MonthlySummaryOut:
    frozen = row is not None and row.figures is not None and row.state in ("submitted", "approved")
    content = (msgspec.convert(row.figures, SummaryContent) if frozen and row is not None
               else await month_content(session, header.id, month))
    reviewer = await session.scalar(select(User.name).where(User.id == row.reviewed_by)) if row and row.reviewed_by \
        else None
    return MonthlySummaryOut(
        expert=header, month=month_key(month), state=row.state if row else "draft",  # type: ignore[arg-type]
        saved=row is not None, figures_frozen=frozen, narrative=row.narrative if row else "",
        review_comment=row.review_comment if row else None, submitted_at=row.submitted_at if row else None,
        reviewed_at=row.reviewed_at if row else None, reviewed_by=reviewer, content=content,
    )


async def get_summary(session: AsyncSession, principal: Principal, expert_id: uuid.UUID, month_text: str,
                      today: date) -> MonthlySummaryOut:
    """The summary of a month that is over: the saved one, or the draft the logs give."""
    month = rules.parse_month(month_text)
    header = await _header(session, principal, expert_id, month)
    rules.check_month_over(month, today)
    return await _view(session, header, month, await _row(session, expert_id, month, lock=False))


async def _writable(session: AsyncSession, principal: Principal, expert_id: uuid.UUID, month_text: str,
                    today: date) -> tuple[ExpertHeader, date, MonthlySummary | None]:
    _own(principal, expert_id)
    month = rules.parse_month(month_text)
    header = await _header(session, principal, expert_id, month)
    rules.check_month_over(month, today)
    if not await recipients_in_month(session, expert_id, month):
        raise InvalidInput(errors=[FieldError(field="month", code="no_deployment",
                                              message=f"{month_key(month)} 没有派驻记录，无需小结。")])
    return header, month, await _row(session, expert_id, month, lock=True)


async def save_summary(session: AsyncSession, principal: Principal, expert_id: uuid.UUID, month_text: str,
                       narrative: str, today: date) -> MonthlySummaryOut:
    """Write (or rewrite) the free text of a draft or returned summary."""
    header, month, row = await _writable(session, principal, expert_id, month_text, today)
    text = rules.check_text(narrative, "narrative", rules.NARRATIVE_MAX)
    before = _state_of(row) if row else None
    if row is None:
        row = MonthlySummary(id=uuid.uuid4(), expert_id=expert_id, month=month, state="draft", narrative=text)
        session.add(row)
    else:
        row.state = rules.next_state(SummaryState(row.state), SummaryAction.save).value
        row.narrative = text
    await session.flush()
    await audit.record(session, principal, "summary.save", "monthly_summary", row.id, before=before,
                       after=_state_of(row), role="expert", detail={"month": month_key(month)})
    return await _view(session, header, month, row)


async def submit_summary(session: AsyncSession, principal: Principal, expert_id: uuid.UUID, month_text: str,
                         narrative: str | None, today: date) -> MonthlySummaryOut:
    """Send the summary for review, freezing the month's figures into it (the text may come along)."""
    header, month, row = await _writable(session, principal, expert_id, month_text, today)
    if row is None:
        row = MonthlySummary(id=uuid.uuid4(), expert_id=expert_id, month=month, state="draft", narrative="")
        session.add(row)
        await session.flush()
    before = _state_of(row)
    state = rules.next_state(SummaryState(row.state), SummaryAction.submit)
    row.narrative = rules.check_text(row.narrative if narrative is None else narrative, "narrative",
                                     rules.NARRATIVE_MAX, required=True)
    row.state = state.value
    row.figures = msgspec.to_builtins(await month_content(session, expert_id, month))
    row.submitted_at = datetime.now(UTC)
    row.review_comment = None
    await session.flush()
    await audit.record(session, principal, "summary.submit", "monthly_summary", row.id, before=before,
                       after=_state_of(row), role="expert", detail={"month": month_key(month)})
    return await _view(session, header, month, row)


async def review_summary(session: AsyncSession, principal: Principal, expert_id: uuid.UUID, month_text: str,
                         action: str, comment: str | None, today: date) -> MonthlySummaryOut:
    """Approve or return (with a comment) a submitted summary of an expert stationed at the caller's hospital."""
    month = rules.parse_month(month_text)
    # A supervisor reviews the month only if the expert was stationed at one of their hospitals in it.
    reach = [r for r in await recipients_in_month(session, expert_id, month) if r in principal.supervised]
    if not reach or expert_id == principal.user_id:
        raise NotFound("No such summary")
    header = await _header(session, principal, expert_id, month)
    rules.check_month_over(month, today)
    row = await _row(session, expert_id, month, lock=True)
    if row is None:
        raise NotFound("No summary written for this month yet")
    act = SummaryAction.approve if action == "approve" else SummaryAction.return_
    text = rules.check_text(comment or "", "comment", rules.COMMENT_MAX, required=act is SummaryAction.return_)
    before = _state_of(row)
    row.state = rules.next_state(SummaryState(row.state), act).value
    row.review_comment = text or None
    row.reviewed_by = principal.user_id
    row.reviewed_at = datetime.now(UTC)
    await session.flush()
    await audit.record(session, principal, f"summary.{act.value}", "monthly_summary", row.id, before=before,
                       after=_state_of(row), institution_id=reach[0], role="supervisor",
                       detail={"month": month_key(month), "comment": row.review_comment})
    return await _view(session, header, month, row)


async def list_summaries(session: AsyncSession, principal: Principal, *, state: str | None,
                         month_text: str | None) -> list[SummaryListItem]:
    """Summaries of the experts the caller may read (a supervisor: stationed at their hospitals), newest first."""
    where = [summary_scope(principal)]
    if state is not None:
        if state not in SummaryState.__members__:
            raise InvalidInput(errors=[FieldError(field="state", code="invalid_choice",
                                                  message=f"One of {', '.join(SummaryState.__members__)}.")])
        where.append(MonthlySummary.state == state)
    if month_text is not None:
        where.append(MonthlySummary.month == rules.parse_month(month_text))
    stmt = (select(MonthlySummary, User.name).join(User, User.id == MonthlySummary.expert_id)
            .where(and_(*where)).order_by(MonthlySummary.month.desc(), User.name).limit(500))
    return [SummaryListItem(expert_id=row.expert_id, expert_name=name, month=month_key(row.month), state=row.state,
                            submitted_at=row.submitted_at, reviewed_at=row.reviewed_at)
            for row, name in (await session.execute(stmt)).all()]
