"""Demo work for the laptop mode: a month of entries per expert, through the same services the API uses.

Most of it is approved (so statistics and exports have figures), the last week is waiting for review
(so the supervisors' queue is not empty), and one entry is returned with a comment.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.models import Deployment, Entry, RoleGrant, User
from backend.review.decisions import decide
from backend.review.schemas import Decision
from backend.review.service import submit_entry
from backend.settings import Settings
from backend.worklog.schemas import EntryCreate
from backend.worklog.service import create_entry

_WORK = [
    ("clinic", {"session": "am", "patients_first_visit": 18, "patients_follow_up": 9, "difficult_cases": 2}),
    ("surgery", {"procedure_name": "腹腔镜胆囊切除术", "grade": "grade_3", "role": "primary", "urgency": "elective",
                 "anaesthesia": "general", "duration_minutes": 95, "local_surgeon": "王医生",
                 "local_surgeon_role": "first_assistant"}),
    ("teaching_round", {"ward": "普外一病区", "cases": 4, "attendees": 12, "teaching_points": "术后并发症的早期识别"}),
    ("lecture", {"title": "县域常见急腹症的诊治", "hours": 2, "mode": "on_site", "audience_count": 45,
                 "audience_level": "county"}),
    ("free_clinic", {"place": "泗安镇仙山村", "place_level": "village", "people_served": 86, "health_talks": 1}),
]


def _principal(user: User, roles: list[tuple[str, uuid.UUID | None]]) -> Principal:
    return Principal(user_id=user.id, username=user.username, name=user.name, device_id="demo-seed",
                     session_id=None, roles=frozenset(r for r, _ in roles),
                     supervised=frozenset(i for r, i in roles if r == "supervisor" and i),
                     hr_of=frozenset(i for r, i in roles if r == "hr" and i), home_institution_id=user.home_institution_id)


async def _people(session: AsyncSession) -> dict[str, Principal]:
    grants: dict[uuid.UUID, list[tuple[str, uuid.UUID | None]]] = {}
    for user_id, role, inst in (await session.execute(select(RoleGrant.user_id, RoleGrant.role,
                                                             RoleGrant.institution_id))).all():
        grants.setdefault(user_id, []).append((role, inst))
    users = (await session.execute(select(User))).scalars().all()
    return {u.username: _principal(u, grants.get(u.id, [])) for u in users}


async def seed_demo_work(session: AsyncSession, settings: Settings, *, today: date | None = None) -> int:
    """Create, submit and review a month of demo work; returns the number of entries made."""
    today = today or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible on purpose
    people = await _people(session)
    supervisors = {inst: p for p in people.values() for inst in p.supervised}
    made = 0
    # Entries seeded on an earlier start (perhaps reviewed or edited since) are kept as they are.
    existing = set((await session.execute(select(Entry.id))).scalars())
    for dep in (await session.execute(select(Deployment).order_by(Deployment.starts_on))).scalars():
        expert = next(p for p in people.values() if p.user_id == dep.expert_id)
        reviewer = supervisors.get(dep.recipient_id)
        to_approve: list[tuple[uuid.UUID, int]] = []
        for back in range(28, 0, -1):
            day = today - timedelta(days=back)
            last = dep.actual_end or dep.planned_end
            if day < dep.starts_on or (last is not None and day > last) or day.weekday() >= 5:
                continue
            items = [("attendance", {"status": "present", "check_in": "08:00", "check_out": "17:30"})]
            items.append(_WORK[rng.randrange(len(_WORK))])
            for kind, fields in items:
                entry_id = uuid.uuid5(uuid.NAMESPACE_URL, f"fieldlog-demo/entry/{dep.id}/{day}/{kind}")
                if entry_id in existing:
                    continue
                view, created = await create_entry(
                    session, expert,
                    EntryCreate(id=entry_id, deployment_id=dep.id, work_date=day, activity_type=kind,
                                fields=dict(fields)),
                    settings,
                )
                if not created:
                    continue
                made += 1
                submitted = await submit_entry(session, expert, view.id, view.version, settings)
                if back > 7:
                    to_approve.append((submitted.id, submitted.version))
        if reviewer is not None and to_approve:
            decisions = [Decision(entry_id=i, version=v, action="approve") for i, v in to_approve]
            decisions[-1] = Decision(entry_id=decisions[-1].entry_id, version=decisions[-1].version,
                                     action="return", comment="请补充手术记录中的助手信息后重新提交")
            await decide(session, reviewer, decisions, settings)
    return made
