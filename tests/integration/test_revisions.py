"""Revisions: an approved entry keeps counting until its revision is approved, and stays in the history."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, InvalidInput, NotFound
from backend.models import Entry
from backend.review import decisions, service
from backend.review.schemas import Decision, UnapproveRequest
from backend.runtime import Runtime
from backend.stats import rollup
from tests.integration.test_review_support import counted, entry_body, entry_row, make_entry, principal_of


@pytest.fixture
def rollups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[uuid.UUID, int]]:
    calls: list[tuple[uuid.UUID, int]] = []

    async def fake(session: AsyncSession, entry: Entry, sign: int) -> None:
        calls.append((entry.id, sign))

    async def fake_many(session: AsyncSession, entries: list[Entry]) -> None:  # a batch of approvals at once
        calls.extend((entry.id, 1) for entry in entries)

    monkeypatch.setattr(rollup, "apply_entry", fake)
    monkeypatch.setattr(rollup, "add_entries", fake_many)
    return calls


async def _approved(session: AsyncSession, db: Runtime, world: Any, **kw: Any) -> Any:
    entry = await make_entry(session, db.settings, world, submit=True, **kw)
    sup = await principal_of(session, world.supervisor_a)
    out = await decisions.decide(session, sup, [Decision(entry_id=entry.id, version=entry.version,
                                                         action="approve")], db.settings)
    await session.commit()
    assert out.results[0].outcome == "applied"
    return entry


async def test_revision_replaces_the_original_in_the_figures_only_once_approved(
        db: Runtime, session: AsyncSession, world: Any, rollups: list[Any]) -> None:
    original = await _approved(session, db, world, activity_type="surgery")
    expert = await principal_of(session, world.expert_a)
    body = entry_body(world.deployment_a.id, work_date=original.work_date, activity_type="surgery",
                      fields={"procedure_name": "腹腔镜胆囊切除术", "grade": "grade_4", "role": "primary"})
    revision, created = await service.create_revision(session, expert, original.id, body, db.settings)
    await session.commit()
    assert created
    assert (revision.status, revision.revision_of) == ("draft", original.id)
    assert await counted(session, original.id, revision.id) == {original.id}

    submitted = await service.submit_entry(session, expert, revision.id, None, db.settings)
    await session.commit()
    assert await counted(session, original.id, revision.id) == {original.id}

    sup = await principal_of(session, world.supervisor_a)
    out = await decisions.decide(session, sup, [Decision(entry_id=revision.id, version=submitted.version,
                                                         action="approve")], db.settings)
    await session.commit()
    assert out.results[0].outcome == "applied"
    assert await counted(session, original.id, revision.id) == {revision.id}
    old = await entry_row(session, original.id)
    assert (old.status, old.superseded_by, old.fields["grade"]) == ("approved", revision.id, "grade_3")
    assert rollups == [(original.id, 1), (original.id, -1), (revision.id, 1)]
    history = await service.entry_history(session, expert, original.id)
    assert history.superseded_by == revision.id
    assert history.revisions == [revision.id]
    assert [e.action for e in history.events][-2:] == ["entry.revise", "entry.supersede"]

    # Unapproving the revision puts the original back in the figures.
    await decisions.unapprove(session, sup, UnapproveRequest(entry_id=revision.id, reason="改错了"), db.settings)
    await session.commit()
    assert await counted(session, original.id, revision.id) == {original.id}
    assert rollups[-2:] == [(revision.id, -1), (original.id, 1)]


async def test_revision_is_refused_unless_the_original_is_approved_own_and_unrevised(
        db: Runtime, session: AsyncSession, world: Any) -> None:
    draft = await make_entry(session, db.settings, world)
    expert = await principal_of(session, world.expert_a)
    with pytest.raises(Conflict) as not_approved:
        await service.create_revision(session, expert, draft.id, entry_body(world.deployment_a.id), db.settings)
    assert not_approved.value.extra["reason"] == "wrong_state"
    original = await _approved(session, db, world)
    with pytest.raises(NotFound):
        await service.create_revision(session, await principal_of(session, world.expert_a2), original.id,
                                      entry_body(world.deployment_a2.id), db.settings)
    with pytest.raises(InvalidInput):
        await service.create_revision(session, expert, original.id, entry_body(world.deployment_b.id), db.settings)
    body = entry_body(world.deployment_a.id, work_date=original.work_date)
    first, _ = await service.create_revision(session, expert, original.id, body, db.settings)
    again, created = await service.create_revision(session, expert, original.id, body, db.settings)
    assert (again.id, created) == (first.id, False)  # a retried request answers the first result
    with pytest.raises(Conflict) as pending:
        await service.create_revision(session, expert, original.id, entry_body(world.deployment_a.id), db.settings)
    assert pending.value.extra == {"reason": "revision_pending", "revision_id": str(first.id)}


async def test_revision_of_an_unapproved_original_cannot_replace_it(db: Runtime, session: AsyncSession,
                                                                     world: Any) -> None:
    original = await _approved(session, db, world)
    expert = await principal_of(session, world.expert_a)
    sup = await principal_of(session, world.supervisor_a)
    revision, _ = await service.create_revision(session, expert, original.id,
                                                entry_body(world.deployment_a.id, work_date=original.work_date),
                                                db.settings)
    submitted = await service.submit_entry(session, expert, revision.id, None, db.settings)
    await decisions.unapprove(session, sup, UnapproveRequest(entry_id=original.id, reason="重新核对"), db.settings)
    out = await decisions.decide(session, sup, [Decision(entry_id=revision.id, version=submitted.version,
                                                         action="approve")], db.settings)
    await session.commit()
    assert (out.results[0].outcome, out.results[0].reason) == ("wrong_state", "original_not_approved")
    assert (await entry_row(session, revision.id)).status == "submitted"
    assert await counted(session, original.id, revision.id) == set()
