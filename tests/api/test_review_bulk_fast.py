"""The set-based review path (backend.review.bulk) decides and writes exactly what the per-decision path does.

The same mixed batch runs on two equal, fresh worlds, once one by one and once set-based; every answer, entry
row, version snapshot, audit event, feed row and roll-up must come out the same (ids mapped to names).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.chain import canonical_json, record_digest
from backend.audit.verify import verify_trail
from backend.models import AuditEvent, Entry, EntryVersion, RoleGrant, Trainee
from backend.review import bulk, decisions, months, service
from backend.review.schemas import Correction, Decision, MonthRequest
from backend.runtime import Runtime
from backend.stats import recompute, rollup
from backend.worklog.service import CONTENT_KEYS, content_of
from tests.factories import World, make_world
from tests.integration.test_review_support import entry_body, make_entry, principal_of

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Names:
    """Maps the ids of one run to names, so two runs on different rows compare equal."""

    def __init__(self) -> None:
        self.by_id: dict[str, str] = {}

    def add(self, name: str, value: uuid.UUID) -> None:
        self.by_id[str(value)] = name

    def __call__(self, value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return self.by_id.get(str(value), "?unknown-id")
        if isinstance(value, str) and _UUID.match(value):
            return self.by_id.get(value, "?unknown-id")
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


async def _scenario(client: Any, session: AsyncSession, db: Runtime) -> dict[str, Any]:
    """Build a fresh world with entries in every situation, send one batch over HTTP and dump what it wrote."""
    world = await make_world(session)
    names = Names()
    for attr in ("home", "other_home", "hospital_a", "hospital_b", "expert_a", "expert_a2", "expert_b",
                 "supervisor_a", "admin", "deployment_a", "deployment_a2", "deployment_b"):
        names.add(attr, getattr(world, attr).id)
    # expert_a also supervises hospital A, where they are stationed: they decide the batch, and meet their own entry.
    session.add(RoleGrant(user_id=world.expert_a.id, role="supervisor", institution_id=world.hospital_a.id))
    trainee = Trainee(id=uuid.uuid4(), institution_id=world.hospital_a.id, name="李医生", created_by=world.expert_a2.id)
    session.add(trainee)
    await session.commit()
    names.add("trainee", trainee.id)
    today = date.today()
    made: dict[str, Any] = {}

    async def entry(name: str, who: str = "expert_a2", submit: bool = True, **kw: Any) -> Any:
        made[name] = await make_entry(session, db.settings, world, who, submit=submit, **kw)
        names.add(name, made[name].id)
        return made[name]

    await entry("clinic")
    await entry("lecture", activity_type="lecture", fields={"title": "高血压规范诊疗", "hours": 1.5,
                                                            "audience_count": 30})
    await entry("attendance", activity_type="attendance", fields={"status": "present"}, work_date=today - timedelta(4))
    await entry("mentoring", activity_type="mentoring", fields={"trainee_id": str(trainee.id), "hours": 2})
    await entry("surgery", activity_type="surgery")
    await entry("returned")
    await entry("stale")
    await entry("own", who="expert_a")
    await entry("elsewhere", who="expert_b")
    await entry("closed", work_date=today - timedelta(days=75))
    await entry("draft", submit=False)
    await entry("emergency", activity_type="emergency", fields={"condition": "心衰", "patients": 2})
    # Approved originals with a submitted revision each: one revision is approved, one returned.
    actor = await principal_of(session, world.expert_a)
    expert = await principal_of(session, world.expert_a2)
    for name in ("original", "original2"):
        original = await entry(name, activity_type="surgery")
        out = await decisions.decide(session, actor, [Decision(entry_id=original.id, version=original.version,
                                                               action="approve")], db.settings)
        assert out.results[0].outcome == "applied"
        body = entry_body(world.deployment_a2.id, work_date=original.work_date, activity_type="surgery",
                          fields={"procedure_name": "腹腔镜阑尾切除术", "grade": "grade_2", "role": "primary"})
        revision, _ = await service.create_revision(session, expert, original.id, body, db.settings)
        made[name + "_revision"] = await service.submit_entry(session, expert, revision.id, None, db.settings)
        names.add(name + "_revision", revision.id)
        await session.commit()
    admin = await principal_of(session, world.admin)
    closed_month = (today - timedelta(days=75)).strftime("%Y-%m")
    await months.close_month(session, admin, MonthRequest(institution_id=world.hospital_a.id, month=closed_month))
    await session.commit()
    unknown = uuid.uuid4()
    names.add("unknown", unknown)

    def d(name: str, action: str = "approve", version: int | None = None, **kw: Any) -> dict[str, Any]:
        return {"entry_id": str(made[name].id), "version": made[name].version if version is None else version,
                "action": action, **kw}

    batch = [
        d("clinic", comment="核对无误"),
        d("lecture"),
        d("returned", "return", comment="请补充患者人数"),
        d("stale", version=made["stale"].version - 1),
        d("attendance"),
        d("own"),
        d("elsewhere"),
        {"entry_id": str(unknown), "version": 1, "action": "approve"},
        d("closed"),
        d("surgery", correction={"role": "first_assistant", "grade": "grade_4"}),
        d("draft"),
        d("clinic"),  # the same entry again: it is approved by now, at a newer version
        d("returned", version=made["returned"].version + 1),  # returned just before: no longer under review
        d("original_revision"),
        d("mentoring"),
        d("original2_revision", "return", comment="与原记录重复"),
        d("emergency"),
    ]
    seq_before = await session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)))
    r = await client.post("/api/v1/review/decisions", json={"decisions": batch},
                          headers=await world.headers(client, "expert_a"))
    assert r.status_code == 200, r.text
    return await _dump(session, world, names, r.json(), seq_before)


async def _dump(session: AsyncSession, world: World, names: Names, answer: dict[str, Any],
                seq_before: int) -> dict[str, Any]:
    ids = [uuid.UUID(i) for i, n in names.by_id.items() if n not in {"unknown"}]
    entries = (await session.execute(select(Entry).where(Entry.id.in_(ids))
                                     .execution_options(populate_existing=True))).scalars().all()
    rows = []
    for e in sorted(entries, key=lambda x: names(x.id)):
        content = content_of(e, [])  # the scenario attaches no files
        rows.append({"id": names(e.id), "status": e.status, "version": e.version, "fields": names(e.fields),
                     "review_comment": e.review_comment, "reviewed_by": names(e.reviewed_by),
                     "reviewed": e.reviewed_at is not None, "revision_of": names(e.revision_of),
                     "superseded_by": names(e.superseded_by),
                     # The hash covers ids that differ between runs: check it matches the content instead.
                     "hash_matches_content": e.content_hash == hashlib.sha256(canonical_json(
                         {k: content[k] for k in CONTENT_KEYS})).hexdigest()})
    versions = (await session.execute(select(EntryVersion).where(EntryVersion.entry_id.in_(ids)))).scalars().all()
    snapshots = {(v.entry_id, v.version): v.snapshot for v in versions}
    version_rows = sorted((names(v.entry_id), v.version, v.change, names(v.changed_by), names(v.snapshot))
                          for v in versions)
    events = (await session.execute(select(AuditEvent).where(AuditEvent.seq > seq_before)
                                    .order_by(AuditEvent.seq))).scalars().all()
    event_rows = []
    for ev in events:
        key = (uuid.UUID(ev.object_id), ev.detail["version"])
        event_rows.append({
            "actor": names(ev.actor_id), "role": ev.actor_role, "action": ev.action, "object_type": ev.object_type,
            "object": names(ev.object_id), "institution": names(ev.institution_id),
            "origin": re.sub(r"^device \S+", "device <the login's device>", ev.origin or ""),
            "detail": names(ev.detail),
            # Digests cover ids too: each must be the digest of the version rows before and after the change.
            "after_is_version": ev.after_digest == record_digest(snapshots[key]),
            "before_is_previous_version": ev.before_digest == record_digest(snapshots[(key[0], key[1] - 1)]),
        })
    assert events
    assert len({ev.request_id for ev in events}) == 1  # one request wrote them all
    assert events[0].request_id
    experts = [world.expert_a.id, world.expert_a2.id, world.expert_b.id]
    stats = {}
    for table, cols in (("stat_rollups", "expert_id, deployment_id, month, metric, institution_id, value, entries"),
                        ("stat_trainees", "expert_id, deployment_id, month, trainee_id, institution_id, entries"),
                        ("stat_days", "expert_id, work_date, deployment_id, status, entries")):
        found = await session.execute(text(f"SELECT {cols} FROM {table} WHERE expert_id = ANY(:e)"),  # noqa: S608
                                      {"e": experts})
        stats[table] = sorted(tuple(str(names(v)) for v in row) for row in found)
    feed = await session.execute(text("SELECT user_id, kind, record_id, op FROM sync_feed WHERE user_id = ANY(:e)"),
                                 {"e": experts})
    return {
        "answer": names(answer), "entries": rows, "versions": version_rows, "events": event_rows, "stats": stats,
        "feed": sorted(tuple(names(v) for v in row) for row in feed),
    }


async def test_set_based_batch_writes_exactly_what_the_per_decision_path_writes(
        client: Any, session: AsyncSession, db: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[int] = []
    decide_batch = bulk.decide_batch

    async def spy(*args: Any) -> Any:
        batches.append(len(args[2]))
        return await decide_batch(*args)

    monkeypatch.setattr(bulk, "decide_batch", spy)
    monkeypatch.setattr(decisions, "SET_BASED", False)
    one_by_one = await _scenario(client, session, db)
    assert batches == []
    monkeypatch.setattr(decisions, "SET_BASED", True)
    set_based = await _scenario(client, session, db)
    assert batches == [1, 1, 17]  # the two originals approved while building the world, then the batch

    outcomes = [(r["entry_id"], r["outcome"], r["reason"]) for r in set_based["answer"]["results"]]
    assert outcomes == [
        ("clinic", "applied", None), ("lecture", "applied", None), ("returned", "applied", None),
        ("stale", "stale_version", "stale_version"), ("attendance", "applied", None),
        ("own", "not_allowed", "own_entry"), ("elsewhere", "not_in_scope", "not_in_scope"),
        ("unknown", "not_in_scope", "not_in_scope"), ("closed", "locked", "month_closed"),
        ("surgery", "applied", None), ("draft", "wrong_state", "wrong_state"),
        ("clinic", "stale_version", "stale_version"), ("returned", "wrong_state", "wrong_state"),
        ("original_revision", "applied", None), ("mentoring", "applied", None),
        ("original2_revision", "applied", None), ("emergency", "applied", None),
    ]
    assert set_based["answer"]["applied"] == 9
    assert [e["action"] for e in set_based["events"]] == [
        "entry.approve", "entry.approve", "entry.return", "entry.approve", "entry.approve", "entry.approve",
        "entry.supersede", "entry.approve", "entry.return", "entry.approve"]
    # Every event's digests are those of the entry's version rows before and after the change.
    assert all(e["after_is_version"] and e["before_is_previous_version"] for e in set_based["events"])
    assert all(e["origin"].startswith("device <the login's device>") for e in set_based["events"])
    assert set_based["stats"]["stat_trainees"]
    assert set_based["stats"]["stat_days"]
    surgery = next(e for e in set_based["entries"] if e["id"] == "surgery")
    assert (surgery["fields"]["role"], surgery["fields"]["grade"]) == ("first_assistant", "grade_4")

    assert set_based["answer"] == one_by_one["answer"]
    assert set_based["entries"] == one_by_one["entries"]
    assert set_based["versions"] == one_by_one["versions"]
    assert set_based["events"] == one_by_one["events"]
    assert set_based["stats"] == one_by_one["stats"]
    assert set_based["feed"] == one_by_one["feed"]
    assert (await recompute.check(session)).differences == 0
    async with db.sessionmaker() as s:
        assert (await verify_trail(s)).ok


async def _submitted(session: AsyncSession, world: World, n: int) -> list[dict[str, Any]]:
    """`n` submitted entries of two experts at hospital A, of several types, written straight into the table."""
    trainee = Trainee(id=uuid.uuid4(), institution_id=world.hospital_a.id, name="王护士", created_by=world.expert_a.id)
    session.add(trainee)
    await session.flush()
    now = datetime.now(UTC)
    kinds: list[tuple[str, dict[str, Any], int | None]] = [
        ("clinic", {"session": "am", "patients_first_visit": 7, "patients_follow_up": 3}, None),
        ("lecture", {"title": "培训", "hours": 1.25, "audience_count": 40}, 90),
        ("surgery", {"procedure_name": "阑尾切除术", "grade": "grade_2", "role": "primary"}, 60),
        ("mentoring", {"trainee_id": str(trainee.id), "hours": 2}, None),
        ("free_clinic", {"place": "乡卫生院", "people_served": 55}, None),
        ("teaching_round", {"attendees": 12}, None),
    ]
    rows = []
    for i in range(n):
        expert, dep = ((world.expert_a, world.deployment_a) if i % 2 else (world.expert_a2, world.deployment_a2))
        day = date.today() - timedelta(days=1 + i % 100)
        if i < 100:  # one attendance per expert and day
            kind, fields, minutes = "attendance", {"status": ("present", "travel", "leave")[i % 3]}, None
        else:
            kind, fields, minutes = kinds[i % len(kinds)]
        rows.append({"id": uuid.uuid4(), "expert_id": expert.id, "deployment_id": dep.id,
                     "institution_id": world.hospital_a.id, "work_date": day, "activity_type": kind,
                     "fields": fields, "duration_minutes": minutes, "status": "submitted", "version": 2,
                     "content_hash": "0" * 64, "submitted_at": now})
    await session.execute(insert(Entry), rows)
    await session.commit()
    return rows


async def test_500_decisions_set_based_keep_the_rollups_exact_and_the_trail_valid(
        client: Any, world: World, session: AsyncSession, db: Runtime) -> None:
    assert decisions.SET_BASED
    rows = await _submitted(session, world, 500)
    batch = []
    for i, r in enumerate(rows):
        if i % 25 == 0:
            batch.append({"entry_id": str(r["id"]), "version": 2, "action": "return", "comment": "请补充"})
        elif i % 50 == 7:
            batch.append({"entry_id": str(r["id"]), "version": 1, "action": "approve"})
        else:
            batch.append({"entry_id": str(r["id"]), "version": 2, "action": "approve"})
    r = await client.post("/api/v1/review/decisions", json={"decisions": batch},
                          headers=await world.headers(client, "supervisor_a"))
    assert r.status_code == 200, r.text
    outcomes = [x["outcome"] for x in r.json()["results"]]
    assert (outcomes.count("applied"), outcomes.count("stale_version")) == (490, 10)
    assert [x["entry_id"] for x in r.json()["results"]] == [str(x["id"]) for x in rows]
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 490
    assert await session.scalar(select(func.count()).select_from(EntryVersion)) == 490
    approved = await session.scalar(select(func.count()).select_from(Entry).where(Entry.status == "approved"))
    assert approved == 470
    check = await recompute.check(session)
    assert check.differences == 0, check.sample
    assert all(check.rows.values())  # every roll-up table has rows to compare
    async with db.sessionmaker() as s:
        assert (await verify_trail(s)).ok


async def test_a_failing_set_based_statement_redoes_the_batch_one_by_one(
        db: Runtime, session: AsyncSession, world: World, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    good = [await make_entry(session, db.settings, world, "expert_a2", submit=True) for _ in range(3)]
    surgery = await make_entry(session, db.settings, world, "expert_a2", activity_type="surgery", submit=True)
    original = await make_entry(session, db.settings, world, "expert_a2", activity_type="surgery", submit=True)
    sup = await principal_of(session, world.supervisor_a)
    expert = await principal_of(session, world.expert_a2)
    await decisions.decide(session, sup, [Decision(entry_id=original.id, version=original.version,
                                                   action="approve")], db.settings)
    body = entry_body(world.deployment_a2.id, work_date=original.work_date, activity_type="surgery")
    revision, _ = await service.create_revision(session, expert, original.id, body, db.settings)
    revision = await service.submit_entry(session, expert, revision.id, None, db.settings)
    await session.commit()

    async def broken(s: AsyncSession, entries: list[Entry]) -> None:  # the last statement of the batch fails
        await s.execute(text("SELECT 1 / 0"))

    monkeypatch.setattr(rollup, "add_entries", broken)
    # The revision goes one by one first (superseding its original), then the set-based run fails: all of it,
    # the supersede included, is rolled back and redone one by one.
    batch = [Decision(entry_id=revision.id, version=revision.version, action="approve"),
             Decision(entry_id=good[0].id, version=good[0].version, action="approve"),
             Decision(entry_id=good[1].id, version=good[1].version, action="return", comment="补充"),
             Decision(entry_id=surgery.id, version=surgery.version, action="approve",
                      correction=Correction(role="first_assistant")),
             Decision(entry_id=good[2].id, version=good[2].version - 1, action="approve")]
    with caplog.at_level(logging.WARNING, logger="fieldlog.review"):
        out = await decisions.decide(session, sup, batch, db.settings)
    await session.commit()
    assert "fell back" in caplog.text
    assert [(r.outcome, r.status, r.version) for r in out.results] == [
        ("applied", "approved", 3), ("applied", "approved", 3), ("applied", "returned", 3),
        ("applied", "approved", 3), ("stale_version", "submitted", 2)]
    ids = [revision.id, original.id, surgery.id, *(g.id for g in good)]
    changes = (await session.execute(select(EntryVersion.change).where(
        EntryVersion.entry_id.in_(ids), EntryVersion.change.not_in(["create", "submit"])))).scalars().all()
    # Written once, not twice: the original's approval before the batch, then the batch.
    assert sorted(changes) == ["approve", "approve", "approve", "approve", "return", "supersede"]
    actions = (await session.execute(select(AuditEvent.action).where(AuditEvent.action.in_(
        ["entry.approve", "entry.return", "entry.supersede"])).order_by(AuditEvent.seq))).scalars().all()
    assert actions == ["entry.approve", "entry.approve", "entry.supersede", "entry.approve", "entry.return",
                       "entry.approve"]
    old = (await session.execute(select(Entry.superseded_by).where(Entry.id == original.id))).scalar_one()
    assert old == revision.id
    assert (await recompute.check(session)).differences == 0
    async with db.sessionmaker() as s:
        assert (await verify_trail(s)).ok


async def test_set_based_decisions_leave_the_session_entries_current(
        db: Runtime, session: AsyncSession, world: World) -> None:
    # The caller keeps using the session: the entries it holds must be the rows as written, not stale copies.
    entry = await make_entry(session, db.settings, world, "expert_a2", activity_type="surgery", submit=True)
    sup = await principal_of(session, world.supervisor_a)
    out = await decisions.decide(session, sup, [Decision(entry_id=entry.id, version=entry.version, action="approve",
                                                         correction=Correction(grade="grade_1"))], db.settings)
    held = await session.get(Entry, entry.id)
    assert held is not None
    assert (held.status, held.version, held.fields["grade"]) == ("approved", out.results[0].version, "grade_1")
    assert not session.dirty or all(not session.is_modified(o) for o in session.dirty)
    await session.commit()
    stored = (await session.execute(select(Entry.status, Entry.version, Entry.fields, Entry.content_hash)
                                    .where(Entry.id == entry.id))).one()
    assert (stored.status, stored.version, stored.fields, stored.content_hash) == (
        held.status, held.version, held.fields, held.content_hash)
