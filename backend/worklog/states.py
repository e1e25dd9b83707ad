"""Entry state machine: who may do what to an entry in which state, and the reason when they may not.

Pure rules, no I/O. Services load the entry, the caller and the month's closing, call `transition`,
and persist the status it returns; the phone is told `lock_reason` on every pull.

Decisions taken here (issue 5):
- Only supervisors approve or return, and only at hospitals they supervise. Admins do not approve:
  the evidence is only worth something if someone on site confirmed it. Admins may unapprove.
- Nobody reviews their own entry (approve, return or unapprove), whatever their roles.
- A submitted entry is under review: the expert cannot edit, delete or withdraw it until it is
  returned. Keeping withdrawal out keeps the supervisor's queue stable while they work through it.
- Only drafts are deleted. A returned entry has been seen by a supervisor and stays in the history;
  it never counts, since figures use approved entries only.
- An approved entry is changed only through a revision (`revise`), which leaves it approved and
  counting until the revision itself is approved; `unapprove` (with a reason) reopens it as returned.
- A closed month locks every action on its entries, reviews included; an admin reopens the month.
- The editable window (the deployment's dates and grace period) limits the expert's own writes
  (submit, edit, delete, revise), not the supervisor's review of what was sent in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from uuid import UUID

import msgspec

from backend.errors import Conflict, FieldError, Forbidden, InvalidInput, Locked

# StrEnum rather than (str, Enum): the same str subclass on the wire and in the database, and
# str()/format() give the bare value on every Python version.


class EntryStatus(StrEnum):
    """Where an entry is in review."""

    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    returned = "returned"


ENTRY_STATUSES: Final[tuple[str, ...]] = tuple(status.value for status in EntryStatus)


class Action(StrEnum):
    """Something a user does to an entry."""

    submit = "submit"
    approve = "approve"
    return_ = "return"
    unapprove = "unapprove"
    edit = "edit"
    delete = "delete"
    revise = "revise"


class LockReason(StrEnum):
    """Why the expert cannot change an entry; sent to the phone with the `locked` answer."""

    approved = "approved"
    submitted = "under_review"
    month_closed = "month_closed"
    outside_window = "outside_editable_window"


ROLES: Final = frozenset({"expert", "supervisor", "hr", "admin"})
COMMENT_MAX_LENGTH: Final = 2000


class Actor(msgspec.Struct, kw_only=True, frozen=True):
    """The user acting: their id, roles and the hospitals they supervise."""

    user_id: UUID
    roles: frozenset[str] = frozenset()
    supervised_institution_ids: frozenset[UUID] = frozenset()


# (status, action) -> new status. Anything missing is refused. Edit, delete and revise leave the
# status as it is: the caller updates the row, removes it, or creates a new draft revision.
ALLOWED: Final[Mapping[tuple[EntryStatus, Action], EntryStatus]] = MappingProxyType(
    {
        (EntryStatus.draft, Action.submit): EntryStatus.submitted,
        (EntryStatus.returned, Action.submit): EntryStatus.submitted,
        (EntryStatus.submitted, Action.approve): EntryStatus.approved,
        (EntryStatus.submitted, Action.return_): EntryStatus.returned,
        (EntryStatus.approved, Action.unapprove): EntryStatus.returned,
        (EntryStatus.draft, Action.edit): EntryStatus.draft,
        (EntryStatus.returned, Action.edit): EntryStatus.returned,
        (EntryStatus.draft, Action.delete): EntryStatus.draft,
        (EntryStatus.approved, Action.revise): EntryStatus.approved,
    }
)

ALLOWED_BY: Final[Mapping[Action, str]] = MappingProxyType(
    {
        Action.submit: "the entry's expert",
        Action.approve: "a supervisor of the entry's hospital, not on their own entry",
        Action.return_: "a supervisor of the entry's hospital, not on their own entry; comment required",
        Action.unapprove: "a supervisor of the entry's hospital or an admin, not on their own entry; reason required",
        Action.edit: "the entry's expert",
        Action.delete: "the entry's expert",
        Action.revise: "the entry's expert",
    }
)

_EXPERT_ACTIONS: Final = frozenset({Action.submit, Action.edit, Action.delete, Action.revise})
_COMMENT_REQUIRED: Final = frozenset({Action.return_, Action.unapprove})


def transition(
    status: EntryStatus,
    action: Action,
    *,
    actor: Actor,
    entry_expert_id: UUID,
    entry_institution_id: UUID,
    comment: str | None = None,
    month_closed: bool = False,
    in_window: bool = True,
) -> EntryStatus:
    """Return the entry's status after `action`, or raise the DomainError that refuses it.

    Checks run in the order who, input, lock, state, so a caller without access to the entry
    learns nothing about its state or month.
    """
    # Accept the plain strings a row or a request carries; an unknown value raises ValueError.
    status, action = EntryStatus(status), Action(action)
    _check_actor(action, actor, entry_expert_id, entry_institution_id)
    _check_comment(action, comment)
    if month_closed:
        raise Locked("The month of this entry is closed.", extra={"reason": LockReason.month_closed.value})
    if action in _EXPERT_ACTIONS and not in_window:
        raise Locked(
            "The entry is outside the deployment's editable window.",
            extra={"reason": LockReason.outside_window.value},
        )
    new_status = ALLOWED.get((status, action))
    if new_status is None:
        raise _refusal(status, action)
    return new_status


def lock_reason(status: EntryStatus, *, month_closed: bool, in_window: bool) -> LockReason | None:
    """Why the expert may not edit the entry now, or None when they may; the same order as `transition`."""
    if month_closed:
        return LockReason.month_closed
    if not in_window:
        return LockReason.outside_window
    if status == EntryStatus.approved:
        return LockReason.approved
    if status == EntryStatus.submitted:
        return LockReason.submitted
    return None


def _check_actor(action: Action, actor: Actor, expert_id: UUID, institution_id: UUID) -> None:
    if action in _EXPERT_ACTIONS:
        if actor.user_id != expert_id:
            raise Forbidden("Only the entry's expert may do this.", extra={"reason": "not_owner"})
        return
    is_supervisor = "supervisor" in actor.roles
    is_admin_unapprove = action == Action.unapprove and "admin" in actor.roles
    if not (is_supervisor or is_admin_unapprove):
        raise Forbidden("Only a supervisor may review entries.", extra={"reason": "not_reviewer"})
    if actor.user_id == expert_id:
        raise Forbidden("Nobody reviews their own entries.", extra={"reason": "own_entry"})
    if is_admin_unapprove:
        return
    if institution_id not in actor.supervised_institution_ids:
        raise Forbidden("The entry is not at a hospital you supervise.", extra={"reason": "not_in_scope"})


def _check_comment(action: Action, comment: str | None) -> None:
    if comment is not None and len(comment) > COMMENT_MAX_LENGTH:
        error = FieldError(field="comment", code="too_long", message=f"At most {COMMENT_MAX_LENGTH} characters.")
        raise InvalidInput(errors=[error])
    if action in _COMMENT_REQUIRED and (comment is None or not comment.strip()):
        message = "Say why the entry is returned." if action == Action.return_ else "Say why it is unapproved."
        raise InvalidInput(errors=[FieldError(field="comment", code="required", message=message)])


def _refusal(status: EntryStatus, action: Action) -> Locked | Conflict:
    # Edits of locked entries answer `locked` with a reason the phone shows; everything else is a
    # workflow mismatch (already submitted, not yet submitted, ...) and answers `conflict`.
    if action in (Action.edit, Action.delete):
        if status == EntryStatus.approved:
            return Locked(
                "The entry is approved; submit a revision to correct it.",
                extra={"reason": LockReason.approved.value},
            )
        if status == EntryStatus.submitted:
            return Locked(
                "The entry is under review; it can be changed once it is returned.",
                extra={"reason": LockReason.submitted.value},
            )
    return Conflict(
        f"Cannot {action.value} an entry that is {status.value}.",
        extra={"reason": "wrong_state", "status": status.value, "action": action.value},
    )
