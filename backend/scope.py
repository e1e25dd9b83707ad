"""Scope filters: every query that reaches entries or experts goes through one of these (a missing one is a bug)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true

from backend.auth.principal import Principal
from backend.models import Entry, User


def entry_scope(principal: Principal) -> ColumnElement[bool]:
    """Entries the caller may read: own (expert), at supervised hospitals, of experts from HR's hospital, or all."""
    if principal.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.is_expert:
        clauses.append(Entry.expert_id == principal.user_id)
    if principal.supervised:
        clauses.append(Entry.institution_id.in_(principal.supervised))
    if principal.hr_of:
        clauses.append(Entry.expert_id.in_(select(User.id).where(User.home_institution_id.in_(principal.hr_of))))
    return or_(*clauses) if clauses else false()


def expert_scope(principal: Principal) -> ColumnElement[bool]:
    """Users (as experts) whose figures the caller may read.

    A supervisor reads the experts who are or were stationed at their hospitals; a deployment that was
    cancelled before it happened never made the expert theirs.
    """
    from backend.models import Deployment

    if principal.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.is_expert:
        clauses.append(User.id == principal.user_id)
    if principal.supervised:
        clauses.append(User.id.in_(select(Deployment.expert_id).where(
            Deployment.recipient_id.in_(principal.supervised), Deployment.status != "cancelled")))
    if principal.hr_of:
        clauses.append(User.home_institution_id.in_(principal.hr_of))
    return or_(*clauses) if clauses else false()
