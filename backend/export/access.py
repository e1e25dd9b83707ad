"""Who may export an expert's evidence: admin, HR of the expert's home hospital, or the expert.

Narrower than `backend.scope.expert_scope` on purpose: a supervisor reads an expert's entries to review
them, but the evidence document belongs to the home hospital's promotion file, so supervisors are out.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from backend.auth.principal import Principal
from backend.models import User


def exportable_experts(principal: Principal) -> ColumnElement[bool]:
    """A filter on `users`; every query that finds the expert of an export (or its job) goes through it."""
    if principal.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = [User.id == principal.user_id]
    if principal.hr_of:
        clauses.append(User.home_institution_id.in_(principal.hr_of))
    return or_(*clauses) if clauses else false()
