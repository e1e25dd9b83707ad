"""Wire types of the appraisal: the three signed steps and what everyone reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec

from backend.documents.content import WorkloadFigures


class SelfAssessment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The expert's self-assessment (个人总结) of one period; signing it locks it."""

    period_start: date
    self_assessment: str


class RatingIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The recipient supervisor's rating and comments, given against the period's figures."""

    rating: str  # excellent / qualified / unqualified (优秀 / 合格 / 不合格)
    comment: str


class CountersignIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """HR's countersignature (派出单位意见); the comment is optional."""

    comment: str | None = None


class PeriodFigures(msgspec.Struct, kw_only=True):
    """The stay's approved work in the period (what the rating is given against), pending apart."""

    days_in_period: int  # calendar days of the stay within the period, up to today
    approved: WorkloadFigures
    pending_entries: int


class AppraisalOut(msgspec.Struct, kw_only=True):
    """One period of a stay and its appraisal so far (state None: not written yet)."""

    deployment_id: uuid.UUID
    expert_id: uuid.UUID
    expert_name: str
    recipient: str
    department: str
    post_label: str
    period_start: date
    period_end: date
    opens_on: date
    final: bool
    state: str | None
    self_assessment: str | None = None
    self_signed_at: datetime | None = None
    rating: str | None = None
    rating_label: str | None = None
    rating_comment: str | None = None
    rated_by: str | None = None
    rated_at: datetime | None = None
    countersign_comment: str | None = None
    countersigned_by: str | None = None
    countersigned_at: datetime | None = None
    figures_frozen: bool = False
    figures: PeriodFigures


class AppraisalLine(msgspec.Struct, kw_only=True, frozen=True):
    """A finished appraisal as an evidence document lists it (no ids beyond the stay's)."""

    recipient: str
    department: str
    post_label: str
    period_start: date
    period_end: date
    rating: str
    rating_label: str
    rating_comment: str | None
    rated_by: str | None
    rated_at: datetime | None
    countersigned_by: str | None
    countersigned_at: datetime | None
    self_assessment: str
