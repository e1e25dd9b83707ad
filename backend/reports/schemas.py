"""Wire types of the monthly summary (月度工作小结): what the expert writes and what everyone reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import msgspec

from backend.documents.content import DeploymentLine, ExpertHeader, TypeCount, WorkloadFigures


class SummaryEntry(msgspec.Struct, kw_only=True):
    """One entry of the month, approved (counted) or pending (submitted, waiting for review)."""

    id: uuid.UUID
    status: Literal["approved", "pending"]
    work_date: date
    activity_type: str
    type_label: str
    figures: str
    recipient: str
    approved_by: str | None = None
    approved_at: datetime | None = None


class SummaryContent(msgspec.Struct, kw_only=True):
    """What the month's logs say, approved and pending apart; frozen into the summary when it is submitted."""

    deployments: list[DeploymentLine]
    approved: WorkloadFigures
    approved_by_type: list[TypeCount]
    pending: WorkloadFigures
    pending_by_type: list[TypeCount]
    unsent_entries: int  # drafts and returned entries of the month: neither approved nor pending
    entries: list[SummaryEntry]


class MonthlySummaryOut(msgspec.Struct, kw_only=True):
    """An expert's summary of a month: the figures (live while editable, frozen once submitted) and the text."""

    expert: ExpertHeader
    month: str
    state: Literal["draft", "submitted", "approved", "returned"]
    saved: bool  # False: nothing written yet, this is the draft the logs give
    figures_frozen: bool
    narrative: str
    review_comment: str | None
    submitted_at: datetime | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    content: SummaryContent


class SummaryListItem(msgspec.Struct, kw_only=True):
    """A summary in a reviewer's list."""

    expert_id: uuid.UUID
    expert_name: str
    month: str
    state: str
    submitted_at: datetime | None
    reviewed_at: datetime | None


class SummaryWrite(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The expert's free text (工作小结正文): what was done, problems met, next month's plan."""

    narrative: str


class SummaryReview(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A supervisor's decision on a submitted summary; a comment is required to return it."""

    action: Literal["approve", "return"]
    comment: str | None = None


def month_key(month: date) -> str:
    return month.strftime("%Y-%m")
