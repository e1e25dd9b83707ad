"""The entry state machine: every (status, action) pair, who may act, comments, and locks."""

from __future__ import annotations

import itertools
from uuid import UUID, uuid4

import msgspec
import pytest

from backend.errors import Conflict, DomainError, Forbidden, InvalidInput, Locked
from backend.worklog.states import (
    ALLOWED,
    ALLOWED_BY,
    COMMENT_MAX_LENGTH,
    ENTRY_STATUSES,
    Action,
    Actor,
    EntryStatus,
    LockReason,
    lock_reason,
    transition,
)

EXPERT_ID = UUID("00000000-0000-0000-0000-0000000000e1")
HOSPITAL_ID = UUID("00000000-0000-0000-0000-0000000000a1")
OTHER_HOSPITAL_ID = UUID("00000000-0000-0000-0000-0000000000a2")

EXPERT = Actor(user_id=EXPERT_ID, roles=frozenset({"expert"}))
SUPERVISOR = Actor(
    user_id=uuid4(), roles=frozenset({"supervisor"}), supervised_institution_ids=frozenset({HOSPITAL_ID})
)
OTHER_SUPERVISOR = Actor(
    user_id=uuid4(), roles=frozenset({"supervisor"}), supervised_institution_ids=frozenset({OTHER_HOSPITAL_ID})
)
ADMIN = Actor(user_id=uuid4(), roles=frozenset({"admin"}))
HR = Actor(user_id=uuid4(), roles=frozenset({"hr"}))
OTHER_EXPERT = Actor(user_id=uuid4(), roles=frozenset({"expert"}))

S, A = EntryStatus, Action
EXPERT_ACTIONS = (A.submit, A.edit, A.delete, A.revise)
REVIEW_ACTIONS = (A.approve, A.return_, A.unapprove)
REVIEWS = [(S.submitted, A.approve), (S.submitted, A.return_), (S.approved, A.unapprove)]

# The whole machine, written out by hand rather than derived from ALLOWED: a status means allowed,
# otherwise the error type and reason code the caller must get.
EXPECTED: dict[tuple[EntryStatus, Action], EntryStatus | tuple[type[DomainError], str]] = {
    (S.draft, A.submit): S.submitted,
    (S.draft, A.approve): (Conflict, "wrong_state"),
    (S.draft, A.return_): (Conflict, "wrong_state"),
    (S.draft, A.unapprove): (Conflict, "wrong_state"),
    (S.draft, A.edit): S.draft,
    (S.draft, A.delete): S.draft,
    (S.draft, A.revise): (Conflict, "wrong_state"),
    (S.submitted, A.submit): (Conflict, "wrong_state"),
    (S.submitted, A.approve): S.approved,
    (S.submitted, A.return_): S.returned,
    (S.submitted, A.unapprove): (Conflict, "wrong_state"),
    (S.submitted, A.edit): (Locked, "under_review"),
    (S.submitted, A.delete): (Locked, "under_review"),
    (S.submitted, A.revise): (Conflict, "wrong_state"),
    (S.approved, A.submit): (Conflict, "wrong_state"),
    (S.approved, A.approve): (Conflict, "wrong_state"),
    (S.approved, A.return_): (Conflict, "wrong_state"),
    (S.approved, A.unapprove): S.returned,
    (S.approved, A.edit): (Locked, "approved"),
    (S.approved, A.delete): (Locked, "approved"),
    (S.approved, A.revise): S.approved,
    (S.returned, A.submit): S.submitted,
    (S.returned, A.approve): (Conflict, "wrong_state"),
    (S.returned, A.return_): (Conflict, "wrong_state"),
    (S.returned, A.unapprove): (Conflict, "wrong_state"),
    (S.returned, A.edit): S.returned,
    (S.returned, A.delete): (Conflict, "wrong_state"),
    (S.returned, A.revise): (Conflict, "wrong_state"),
}


def act(
    status: EntryStatus,
    action: Action,
    actor: Actor | None = None,
    *,
    comment: str | None = "checked on the ward",
    month_closed: bool = False,
    in_window: bool = True,
) -> EntryStatus:
    """Apply `action` to an entry of EXPERT at HOSPITAL, by the natural actor unless one is given."""
    if actor is None:
        actor = EXPERT if action in EXPERT_ACTIONS else SUPERVISOR
    return transition(
        status,
        action,
        actor=actor,
        entry_expert_id=EXPERT_ID,
        entry_institution_id=HOSPITAL_ID,
        comment=comment,
        month_closed=month_closed,
        in_window=in_window,
    )


def reason_of(excinfo: pytest.ExceptionInfo[DomainError]) -> object:
    return excinfo.value.extra.get("reason")


def test_expected_table_covers_every_status_and_action() -> None:
    assert set(EXPECTED) == set(itertools.product(EntryStatus, Action))


@pytest.mark.parametrize(("status", "action"), list(EXPECTED), ids=lambda v: str(v))
def test_every_status_and_action_is_allowed_or_refused_with_its_reason(status: EntryStatus, action: Action) -> None:
    expected = EXPECTED[(status, action)]
    if isinstance(expected, EntryStatus):
        assert act(status, action) == expected
        return
    error_type, reason = expected
    with pytest.raises(error_type) as excinfo:
        act(status, action)
    assert type(excinfo.value) is error_type
    assert reason_of(excinfo) == reason


def test_allowed_table_is_exactly_the_allowed_transitions() -> None:
    allowed = {pair: outcome for pair, outcome in EXPECTED.items() if isinstance(outcome, EntryStatus)}
    assert dict(ALLOWED) == allowed


def test_every_action_says_who_may_do_it() -> None:
    assert set(ALLOWED_BY) == set(Action)


def test_statuses_and_wire_values() -> None:
    assert ENTRY_STATUSES == ("draft", "submitted", "approved", "returned")
    assert Action.return_.value == "return"
    assert {reason.value for reason in LockReason} == {
        "approved",
        "under_review",
        "month_closed",
        "outside_editable_window",
    }
    assert msgspec.json.encode([EntryStatus.draft, Action.return_]) == b'["draft","return"]'


def test_plain_strings_from_a_row_are_accepted() -> None:
    assert act("draft", "submit") == EntryStatus.submitted  # type: ignore[arg-type]


def test_returned_entry_goes_back_to_review_when_resubmitted() -> None:
    status = act(S.draft, A.submit)
    status = act(status, A.return_, comment="role should be assistant")
    status = act(status, A.edit)
    status = act(status, A.submit)
    assert act(status, A.approve) == S.approved


# Who may act


@pytest.mark.parametrize("action", EXPERT_ACTIONS)
@pytest.mark.parametrize("actor", [OTHER_EXPERT, SUPERVISOR, ADMIN, HR], ids=["expert", "supervisor", "admin", "hr"])
def test_only_the_entrys_expert_writes_it(action: Action, actor: Actor) -> None:
    status = S.approved if action == A.revise else S.draft
    with pytest.raises(Forbidden) as excinfo:
        act(status, action, actor)
    assert reason_of(excinfo) == "not_owner"


@pytest.mark.parametrize(("status", "action"), [(S.submitted, A.approve), (S.submitted, A.return_)])
@pytest.mark.parametrize("actor", [EXPERT, OTHER_EXPERT, ADMIN, HR], ids=["owner", "expert", "admin", "hr"])
def test_only_supervisors_approve_or_return(status: EntryStatus, action: Action, actor: Actor) -> None:
    with pytest.raises(Forbidden) as excinfo:
        act(status, action, actor)
    assert reason_of(excinfo) == "not_reviewer"


@pytest.mark.parametrize(("status", "action"), REVIEWS)
def test_supervisor_of_another_hospital_is_out_of_scope(status: EntryStatus, action: Action) -> None:
    with pytest.raises(Forbidden) as excinfo:
        act(status, action, OTHER_SUPERVISOR)
    assert reason_of(excinfo) == "not_in_scope"


@pytest.mark.parametrize(("status", "action"), REVIEWS)
def test_supervisor_never_reviews_own_entry(status: EntryStatus, action: Action) -> None:
    supervising_expert = Actor(
        user_id=EXPERT_ID,
        roles=frozenset({"expert", "supervisor"}),
        supervised_institution_ids=frozenset({HOSPITAL_ID}),
    )
    with pytest.raises(Forbidden) as excinfo:
        act(status, action, supervising_expert)
    assert reason_of(excinfo) == "own_entry"


def test_admin_unapproves_anywhere_but_not_own_entry() -> None:
    assert act(S.approved, A.unapprove, ADMIN, comment="approved by mistake") == S.returned
    admin_expert = Actor(user_id=EXPERT_ID, roles=frozenset({"expert", "admin"}))
    with pytest.raises(Forbidden) as excinfo:
        act(S.approved, A.unapprove, admin_expert, comment="mine")
    assert reason_of(excinfo) == "own_entry"


def test_supervisor_without_the_role_does_not_review() -> None:
    former = Actor(user_id=uuid4(), roles=frozenset({"expert"}), supervised_institution_ids=frozenset({HOSPITAL_ID}))
    with pytest.raises(Forbidden) as excinfo:
        act(S.submitted, A.approve, former)
    assert reason_of(excinfo) == "not_reviewer"


def test_refused_actor_learns_nothing_about_state_or_month() -> None:
    with pytest.raises(Forbidden):
        act(S.approved, A.approve, OTHER_SUPERVISOR, month_closed=True)


# Comments


@pytest.mark.parametrize("action", [A.return_, A.unapprove])
@pytest.mark.parametrize("comment", [None, "", "   \n\t"], ids=["missing", "empty", "blank"])
def test_return_and_unapprove_need_a_comment(action: Action, comment: str | None) -> None:
    status = S.submitted if action == A.return_ else S.approved
    with pytest.raises(InvalidInput) as excinfo:
        act(status, action, comment=comment)
    [error] = excinfo.value.errors
    assert (error.field, error.code) == ("comment", "required")


@pytest.mark.parametrize(("status", "action"), REVIEWS)
def test_comment_is_at_most_2000_characters(status: EntryStatus, action: Action) -> None:
    assert act(status, action, comment="x" * COMMENT_MAX_LENGTH) in set(EntryStatus)
    with pytest.raises(InvalidInput) as excinfo:
        act(status, action, comment="x" * (COMMENT_MAX_LENGTH + 1))
    [error] = excinfo.value.errors
    assert (error.field, error.code) == ("comment", "too_long")


def test_approval_needs_no_comment() -> None:
    assert act(S.submitted, A.approve, comment=None) == S.approved


# Locks


@pytest.mark.parametrize(("status", "action"), list(ALLOWED), ids=lambda v: str(v))
def test_closed_month_locks_every_action(status: EntryStatus, action: Action) -> None:
    with pytest.raises(Locked) as excinfo:
        act(status, action, month_closed=True)
    assert reason_of(excinfo) == "month_closed"


def test_closed_month_locks_admin_unapprove_too() -> None:
    with pytest.raises(Locked) as excinfo:
        act(S.approved, A.unapprove, ADMIN, comment="wrong month", month_closed=True)
    assert reason_of(excinfo) == "month_closed"


@pytest.mark.parametrize(
    ("status", "action"), [pair for pair in ALLOWED if pair[1] in EXPERT_ACTIONS], ids=lambda v: str(v)
)
def test_outside_the_window_the_expert_cannot_write(status: EntryStatus, action: Action) -> None:
    with pytest.raises(Locked) as excinfo:
        act(status, action, in_window=False)
    assert reason_of(excinfo) == "outside_editable_window"


@pytest.mark.parametrize(
    ("status", "action"), [pair for pair in ALLOWED if pair[1] in REVIEW_ACTIONS], ids=lambda v: str(v)
)
def test_outside_the_window_supervisors_still_review(status: EntryStatus, action: Action) -> None:
    assert act(status, action, in_window=False) == ALLOWED[(status, action)]


@pytest.mark.parametrize(
    ("status", "month_closed", "in_window", "expected"),
    [
        (S.draft, False, True, None),
        (S.returned, False, True, None),
        (S.submitted, False, True, LockReason.submitted),
        (S.approved, False, True, LockReason.approved),
        (S.approved, False, False, LockReason.outside_window),
        (S.draft, False, False, LockReason.outside_window),
        (S.approved, True, False, LockReason.month_closed),
        (S.draft, True, True, LockReason.month_closed),
    ],
)
def test_lock_reason_told_to_the_phone(
    status: EntryStatus, month_closed: bool, in_window: bool, expected: LockReason | None
) -> None:
    assert lock_reason(status, month_closed=month_closed, in_window=in_window) == expected


@pytest.mark.parametrize(
    ("status", "month_closed", "in_window"), list(itertools.product(EntryStatus, [False, True], [False, True]))
)
def test_lock_reason_agrees_with_what_an_edit_gets(status: EntryStatus, month_closed: bool, in_window: bool) -> None:
    reason = lock_reason(status, month_closed=month_closed, in_window=in_window)
    if reason is None:
        assert act(status, A.edit, month_closed=month_closed, in_window=in_window) == status
        return
    with pytest.raises(Locked) as excinfo:
        act(status, A.edit, month_closed=month_closed, in_window=in_window)
    assert reason_of(excinfo) == reason.value
