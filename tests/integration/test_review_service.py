"""Review use cases on a real PostgreSQL: submitting, deciding, unapproving, and what each one refuses."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, InvalidInput, Locked, NotFound
from backend.models import AuditEvent, Entry, EntryVersion, SyncFeed
from backend.review import decisions, service
from backend.review.schemas import Correction, Decision, UnapproveRequest
from backend.runtime import Runtime
from backend.stats import rollup
from backend.worklog.schemas import EntryPatch
from backend.worklog.service import update_entry
from tests.integration.test_review_support import entry_row, make_entry, principal_of


@pytest.fixture
def rollups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[uuid.UUID, int]]:
    """Every call review makes to the statistics roll-up, in order (a fake in place of the real engine)."""
    calls: list[tuple[uuid.UUID, int]] = []

    async def fake(session: AsyncSession, entry: Entry, sign: int) -> None:
        calls.append((entry.id, sign))

    async def fake_many(session: AsyncSession, entries: list[Entry]) -> None:  # a batch of approvals at once
        calls.extend((entry.id, 1) for entry in entries)

    monkeypatch.setattr(rollup, "apply_entry", fake)
    monkeypatch.setattr(rollup, "add_entries", fake_many)
    return calls


def approve(entry: Any, **kw: Any) -> Decision:
    return Decision(entry_id=entry.id, version=entry.version, action="approve", **kw)


async def test_submit_moves_a_draft_to_submitted_with_version_audit_and_feed(
        db: Runtime, session: AsyncSession, world: Any) -> None:
    draft = await make_entry(session, db.settings, world)
    expert = await principal_of(session, world.expert_a)
    out = await service.submit_entry(session, expert, draft.id, draft.version, db.settings)
    await session.commit()
    assert (out.status, out.version, out.locked, out.lock_reason) == ("submitted", 2, True, "under_review")
    assert out.submitted_at is not None
    changes = (await session.execute(select(EntryVersion.change).where(EntryVersion.entry_id == draft.id)
                                     .order_by(EntryVersion.version))).scalars().all()
    assert changes == ["create", "submit"]
    event = (await session.execute(select(AuditEvent).where(AuditEvent.object_id == str(draft.id),
                                                       AuditEvent.action == "entry.submit"))).scalar_one()
    assert (event.action, event.actor_id, event.actor_role, event.institution_id) == (
        "entry.submit", world.expert_a.id, "expert", world.hospital_a.id)
    assert event.detail["from"] == "draft"
    assert event.detail["to"] == "submitted"
    assert event.before_digest
    assert event.after_digest
    assert event.before_digest != event.after_digest
    assert await session.scalar(select(SyncFeed.record_id).where(SyncFeed.user_id == world.expert_a.id)) \
        == str(draft.id)


async def test_submit_refuses_stale_versions_other_peoples_entries_and_wrong_states(
        db: Runtime, session: AsyncSession, world: Any) -> None:
    draft = await make_entry(session, db.settings, world)
    expert = await principal_of(session, world.expert_a)
    with pytest.raises(Conflict) as stale:
        await service.submit_entry(session, expert, draft.id, 7, db.settings)
    assert stale.value.extra["reason"] == "stale_version"
    with pytest.raises(NotFound):
        await service.submit_entry(session, await principal_of(session, world.expert_b), draft.id, None, db.settings)
    await service.submit_entry(session, expert, draft.id, None, db.settings)
    with pytest.raises(Conflict) as again:
        await service.submit_entry(session, expert, draft.id, None, db.settings)
    assert again.value.extra["reason"] == "wrong_state"


async def test_submit_week_sends_only_that_weeks_drafts(db: Runtime, session: AsyncSession, world: Any) -> None:
    monday = date.today() - timedelta(days=date.today().weekday() + 14)
    in_week = [await make_entry(session, db.settings, world, work_date=monday + timedelta(days=d)) for d in (0, 6)]
    before = await make_entry(session, db.settings, world, work_date=monday - timedelta(days=1))
    after = await make_entry(session, db.settings, world, work_date=monday + timedelta(days=7))
    already = await make_entry(session, db.settings, world, work_date=monday + timedelta(days=2), submit=True)
    expert = await principal_of(session, world.expert_a)
    out = await service.submit_week(session, expert, world.deployment_a.id, monday + timedelta(days=3), db.settings)
    await session.commit()
    assert [e.id for e in out] == [e.id for e in in_week]
    assert {(await entry_row(session, e.id)).status for e in (before, after)} == {"draft"}
    assert (await entry_row(session, already.id)).version == already.version
    with pytest.raises(NotFound):
        await service.submit_week(session, await principal_of(session, world.expert_b), world.deployment_a.id,
                                  monday, db.settings)


async def test_locked_edits_answer_their_reason(db: Runtime, session: AsyncSession, world: Any) -> None:
    entry = await make_entry(session, db.settings, world, submit=True)
    expert = await principal_of(session, world.expert_a)
    with pytest.raises(Locked) as review:
        await update_entry(session, expert, entry.id, EntryPatch(note="x"), entry.version, db.settings)
    assert review.value.extra["reason"] == "under_review"
    sup = await principal_of(session, world.supervisor_a)
    await decisions.decide(session, sup, [approve(entry)], db.settings)
    await session.commit()
    with pytest.raises(Locked) as approved:
        await update_entry(session, expert, entry.id, EntryPatch(note="x"), entry.version + 1, db.settings)
    assert approved.value.extra["reason"] == "approved"


async def test_return_then_edit_and_resubmit_then_approve(db: Runtime, session: AsyncSession, world: Any,
                                                          rollups: list[Any]) -> None:
    entry = await make_entry(session, db.settings, world, submit=True)
    sup = await principal_of(session, world.supervisor_a)
    expert = await principal_of(session, world.expert_a)
    result = await decisions.decide(session, sup, [Decision(entry_id=entry.id, version=entry.version,
                                                            action="return", comment="患者数不对")], db.settings)
    assert result.results[0].outcome == "applied"
    assert result.results[0].status == "returned"
    edited = await update_entry(session, expert, entry.id, EntryPatch(note="已更正"), result.results[0].version,
                                db.settings)
    assert edited.review_comment == "患者数不对"
    resubmitted = await service.submit_entry(session, expert, entry.id, edited.version, db.settings)
    final = await decisions.decide(session, sup, [approve(resubmitted, comment="ok")], db.settings)
    await session.commit()
    assert final.results[0].status == "approved"
    row = await entry_row(session, entry.id)
    assert (row.reviewed_by, row.review_comment) == (world.supervisor_a.id, "ok")
    assert rollups == [(entry.id, +1)]


async def test_return_needs_a_comment_and_refuses_the_whole_batch(db: Runtime, session: AsyncSession,
                                                                  world: Any) -> None:
    first = await make_entry(session, db.settings, world, submit=True)
    second = await make_entry(session, db.settings, world, submit=True)
    sup = await principal_of(session, world.supervisor_a)
    with pytest.raises(InvalidInput) as refused:
        await decisions.decide(session, sup, [approve(first), Decision(entry_id=second.id, version=second.version,
                                                                       action="return", comment="  ")], db.settings)
    assert [e.field for e in refused.value.errors] == ["decisions[1].comment"]


async def test_bulk_decisions_answer_each_item_and_a_stale_one_undoes_nothing(
        db: Runtime, session: AsyncSession, world: Any, rollups: list[Any]) -> None:
    good = [await make_entry(session, db.settings, world, submit=True) for _ in range(3)]
    stale = await make_entry(session, db.settings, world, submit=True)
    draft = await make_entry(session, db.settings, world)
    elsewhere = await make_entry(session, db.settings, world, "expert_b", submit=True)
    batch = [approve(good[0]), Decision(entry_id=stale.id, version=stale.version - 1, action="approve"),
             approve(good[1]), approve(draft), approve(elsewhere), Decision(entry_id=uuid.uuid4(), version=1,
                                                                            action="approve"),
             Decision(entry_id=good[2].id, version=good[2].version, action="return", comment="补充记录")]
    sup = await principal_of(session, world.supervisor_a)
    out = await decisions.decide(session, sup, batch, db.settings)
    await session.commit()
    assert [r.outcome for r in out.results] == ["applied", "stale_version", "applied", "wrong_state",
                                                "not_in_scope", "not_in_scope", "applied"]
    assert out.applied == 3
    assert out.results[1].version == stale.version
    assert out.results[1].status == "submitted"
    assert out.results[4].status is None  # nothing about another hospital's entry leaks
    assert [(await entry_row(session, e.id)).status for e in (*good, stale, draft, elsewhere)] == [
        "approved", "approved", "returned", "submitted", "draft", "submitted"]
    assert rollups == [(good[0].id, 1), (good[1].id, 1)]
    actions = (await session.execute(select(AuditEvent.action).order_by(AuditEvent.seq))).scalars().all()
    assert actions[-3:] == ["entry.approve", "entry.approve", "entry.return"]


async def test_supervisor_never_approves_their_own_entry(db: Runtime, session: AsyncSession, world: Any) -> None:
    from backend.models import RoleGrant

    # expert_a also becomes a supervisor at hospital A, where they are stationed.
    session.add(RoleGrant(user_id=world.expert_a.id, role="supervisor", institution_id=world.hospital_a.id))
    await session.commit()
    entry = await make_entry(session, db.settings, world, submit=True)
    both = await principal_of(session, world.expert_a)
    out = await decisions.decide(session, both, [approve(entry)], db.settings)
    assert (out.results[0].outcome, out.results[0].reason) == ("not_allowed", "own_entry")


async def test_supervisor_corrects_a_surgerys_role_when_approving(db: Runtime, session: AsyncSession,
                                                                  world: Any) -> None:
    entry = await make_entry(session, db.settings, world, activity_type="surgery", submit=True)
    clinic = await make_entry(session, db.settings, world, submit=True)
    sup = await principal_of(session, world.supervisor_a)
    with pytest.raises(InvalidInput) as bad:
        await decisions.decide(session, sup, [approve(entry, correction=Correction(role="janitor")),
                                              approve(clinic, correction=Correction(grade="grade_1"))], db.settings)
    assert [e.field for e in bad.value.errors] == ["decisions[0].correction.role", "decisions[1].correction"]
    out = await decisions.decide(session, sup, [approve(entry, correction=Correction(role="first_assistant"))],
                                 db.settings)
    await session.commit()
    assert out.results[0].outcome == "applied"
    row = await entry_row(session, entry.id)
    assert row.fields["role"] == "first_assistant"
    assert row.fields["grade"] == "grade_3"
    version = (await session.execute(select(EntryVersion).where(EntryVersion.entry_id == entry.id,
                                                                EntryVersion.version == row.version))).scalar_one()
    assert (version.change, version.changed_by, version.snapshot["fields"]["role"]) == (
        "approve", world.supervisor_a.id, "first_assistant")
    event = (await session.execute(select(AuditEvent).where(AuditEvent.action == "entry.approve"))).scalar_one()
    assert event.actor_id == world.supervisor_a.id
    assert event.detail["correction"] == {"role": {"from": "primary", "to": "first_assistant"}}


async def test_unapprove_reopens_as_returned_with_reason_by_supervisor_or_admin(
        db: Runtime, session: AsyncSession, world: Any, rollups: list[Any]) -> None:
    entry = await make_entry(session, db.settings, world, submit=True)
    sup = await principal_of(session, world.supervisor_a)
    await decisions.decide(session, sup, [approve(entry)], db.settings)
    with pytest.raises(InvalidInput):
        await decisions.unapprove(session, sup, UnapproveRequest(entry_id=entry.id, reason=" "), db.settings)
    with pytest.raises(NotFound):
        await decisions.unapprove(session, await principal_of(session, world.supervisor_b),
                                  UnapproveRequest(entry_id=entry.id, reason="x"), db.settings)
    with pytest.raises(NotFound):  # the expert's own entry is in their scope, but they do not review
        await decisions.unapprove(session, await principal_of(session, world.expert_a),
                                  UnapproveRequest(entry_id=entry.id, reason="x"), db.settings)
    out = await decisions.unapprove(session, sup, UnapproveRequest(entry_id=entry.id, reason="重复记录"), db.settings)
    assert (out.status, out.review_comment, out.locked) == ("returned", "重复记录", False)
    expert = await principal_of(session, world.expert_a)
    again = await service.submit_entry(session, expert, entry.id, out.version, db.settings)
    await decisions.decide(session, sup, [approve(again)], db.settings)
    admin = await principal_of(session, world.admin)
    by_admin = await decisions.unapprove(session, admin, UnapproveRequest(entry_id=entry.id, reason="核查"),
                                         db.settings)
    await session.commit()
    assert by_admin.status == "returned"
    assert rollups == [(entry.id, 1), (entry.id, -1), (entry.id, 1), (entry.id, -1)]
    roles = (await session.execute(select(AuditEvent.actor_role).where(AuditEvent.action == "entry.unapprove")
                                   .order_by(AuditEvent.seq))).scalars().all()
    assert roles == ["supervisor", "admin"]


async def test_admin_does_not_approve(db: Runtime, session: AsyncSession, world: Any) -> None:
    entry = await make_entry(session, db.settings, world, submit=True)
    out = await decisions.decide(session, await principal_of(session, world.admin), [approve(entry)], db.settings)
    assert out.results[0].outcome == "not_in_scope"


async def test_decision_on_an_outdated_version_is_stale(db: Runtime, session: AsyncSession,
                                                                   world: Any) -> None:
    # A decision made on the version the supervisor saw never overwrites a later change by the expert.
    entry = await make_entry(session, db.settings, world, submit=True)
    await session.execute(update(Entry).where(Entry.id == entry.id).values(version=Entry.version + 1))
    await session.commit()
    out = await decisions.decide(session, await principal_of(session, world.supervisor_a), [approve(entry)],
                                 db.settings)
    assert out.results[0].outcome == "stale_version"
