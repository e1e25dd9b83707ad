"""Read side for other documents: the finished appraisals of an expert (evidence PDF, promotion round)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend import vocab
from backend.appraisal.schemas import AppraisalLine
from backend.appraisal.states import RATINGS
from backend.models import Appraisal, Deployment, Institution, User


async def appraisals_for_expert(session: AsyncSession, expert_id: uuid.UUID, date_from: date, date_to: date, *,
                                final_only: bool = True) -> list[AppraisalLine]:
    """The expert's appraisals whose period overlaps date_from..date_to, oldest first.

    `final_only` (the default, what a promotion file may state): countersigned ones only. The caller has
    already checked that it may read this expert; cancelled stays never count.
    """
    rater, signer = aliased(User), aliased(User)
    stmt = (
        select(Appraisal, Deployment.department, Deployment.post, Institution.name.label("recipient"),
               rater.name.label("rater"), signer.name.label("signer"))
        .join(Deployment, Deployment.id == Appraisal.deployment_id)
        .join(Institution, Institution.id == Deployment.recipient_id)
        .outerjoin(rater, rater.id == Appraisal.rated_by)
        .outerjoin(signer, signer.id == Appraisal.countersigned_by)
        .where(Deployment.expert_id == expert_id, Deployment.status != "cancelled",
               Appraisal.period_start <= date_to, Appraisal.period_end >= date_from,
               Appraisal.rating.is_not(None))
        .order_by(Appraisal.period_start, Appraisal.id)
    )
    if final_only:
        stmt = stmt.where(Appraisal.state == "countersigned")
    return [_line(row) for row in (await session.execute(stmt)).all()]


def _line(row: Any) -> AppraisalLine:
    a, department, post, recipient, rater, signer = row
    return AppraisalLine(recipient=recipient, department=department, post_label=vocab.POSTS.get(post, post),
                         period_start=a.period_start, period_end=a.period_end, rating=a.rating or "",
                         rating_label=RATINGS.get(a.rating or "", a.rating or ""), rating_comment=a.rating_comment,
                         rated_by=rater, rated_at=a.rated_at, countersigned_by=signer,
                         countersigned_at=a.countersigned_at, self_assessment=a.self_assessment)
