"""Checking one review decision, and answering it when it is not applied (the outcome, what the caller may see).

Shared by the per-decision path (decisions.py) and the set-based one (bulk.py), so both decide and answer alike.
"""

from __future__ import annotations

from backend.errors import DomainError, Forbidden, Locked
from backend.models import Entry
from backend.review.schemas import Decision, DecisionResult
from backend.worklog.states import Action, Actor, EntryStatus, transition


class Refused(Exception):
    """A decision that is answered without being applied."""

    def __init__(self, outcome: str, entry: Entry | None, reason: str | None, detail: str | None = None) -> None:
        super().__init__(detail or outcome)
        self.outcome, self.entry, self.reason, self.detail = outcome, entry, reason, detail


def result_of_error(exc: DomainError, entry: Entry) -> Refused:
    reason = exc.extra.get("reason")
    if isinstance(exc, Locked):
        return Refused("locked", entry, reason, exc.detail)
    if isinstance(exc, Forbidden):
        # Not a reviewer of this hospital reads as "not in your scope"; own entries are "not allowed".
        outcome = "not_in_scope" if reason == "not_in_scope" else "not_allowed"
        return Refused(outcome, None if outcome == "not_in_scope" else entry, reason, exc.detail)
    return Refused("wrong_state", entry, reason or "wrong_state", exc.detail)


def refused_result(decision: Decision, refused: Refused) -> DecisionResult:
    """The answer to a refused decision; `refused.entry` must hold the entry as it is now (or None)."""
    found = refused.entry
    return DecisionResult(entry_id=decision.entry_id, outcome=refused.outcome,  # type: ignore[arg-type]
                          status=found.status if found else None, version=found.version if found else None,
                          reason=refused.reason, detail=refused.detail)


def check(entry: Entry, decision: Decision, actor: Actor, month_closed: bool) -> tuple[Action, EntryStatus]:
    """The decision's action and the entry's status after it, or Refused: the version first, then `transition`."""
    if entry.version != decision.version:
        raise Refused("stale_version", entry, "stale_version",
                      f"The entry is at version {entry.version}, not {decision.version}")
    action = Action.approve if decision.action == "approve" else Action.return_
    try:
        new_status = transition(EntryStatus(entry.status), action, actor=actor, entry_expert_id=entry.expert_id,
                                entry_institution_id=entry.institution_id, comment=decision.comment,
                                month_closed=month_closed)
    except DomainError as exc:
        raise result_of_error(exc, entry) from None
    return action, new_status
