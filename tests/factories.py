"""Factories for test data: small functions that insert real rows; no test depends on another's leftovers."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Agreement, AgreementTarget, Deployment, Institution, RoleGrant, User
from backend.security.passwords import hash_password

PASSWORD = "correct-horse-42"
_PASSWORD_HASH = hash_password(PASSWORD)
_counter = itertools.count(1)


def _n() -> int:
    return next(_counter)


async def make_institution(session: AsyncSession, *, kind: str = "county_hospital", level: str = "secondary_a",
                           name: str | None = None, timezone: str = "Asia/Shanghai", **kw: Any) -> Institution:
    n = _n()
    inst = Institution(id=uuid.uuid4(), code=f"T{n:06d}", name=name or f"测试医院{n}", kind=kind, level=level,
                       timezone=timezone, **kw)
    session.add(inst)
    await session.flush()
    return inst


async def make_user(session: AsyncSession, *, roles: list[tuple[str, uuid.UUID | None]] | None = None,
                    username: str | None = None, home: Institution | None = None, active: bool = True,
                    title: str | None = "attending_physician", name: str | None = None) -> User:
    n = _n()
    user = User(id=uuid.uuid4(), username=username or f"user{n}", name=name or f"用户{n}", title=title,
                password_hash=_PASSWORD_HASH, is_active=active, home_institution_id=home.id if home else None)
    session.add(user)
    await session.flush()
    for role, inst in roles or [("expert", None)]:
        session.add(RoleGrant(user_id=user.id, role=role, institution_id=inst))
    await session.flush()
    return user


async def make_agreement(session: AsyncSession, supporting: Institution, recipient: Institution, *,
                         starts_on: date = date(2025, 1, 1), programme: str = "counterpart_support",
                         targets: dict[int, dict[str, Any]] | None = None) -> Agreement:
    agr = Agreement(id=uuid.uuid4(), name=f"{supporting.name}—{recipient.name}", programme=programme,
                    supporting_id=supporting.id, recipient_id=recipient.id, starts_on=starts_on, ends_on=None)
    session.add(agr)
    await session.flush()
    for year, values in (targets or {}).items():
        session.add(AgreementTarget(agreement_id=agr.id, year=year, **values))
    await session.flush()
    return agr


async def make_deployment(session: AsyncSession, expert: User, recipient: Institution, *,
                          agreement: Agreement | None = None, starts_on: date | None = None,
                          planned_end: date | None = None, actual_end: date | None = None,
                          post: str = "clinical_expert", department: str = "普外科",
                          status: str = "active") -> Deployment:
    starts_on = starts_on or date.today() - timedelta(days=90)
    dep = Deployment(id=uuid.uuid4(), expert_id=expert.id, recipient_id=recipient.id,
                     agreement_id=agreement.id if agreement else None, department=department, post=post,
                     starts_on=starts_on, planned_end=planned_end or starts_on + timedelta(days=365),
                     actual_end=actual_end, status=status)
    session.add(dep)
    await session.flush()
    return dep


async def login(client: Any, username: str, *, device_id: str | None = None, password: str = PASSWORD) -> dict[str, Any]:
    """Sign in through the real API; returns the token answer plus ready-made headers."""
    device_id = device_id or f"device-{username}-{uuid.uuid4().hex[:8]}"
    response = await client.post("/api/v1/auth/login",
                                 json={"username": username, "password": password, "device_id": device_id})
    assert response.status_code == 200, response.text
    body = response.json()
    body["headers"] = {"Authorization": f"Bearer {body['access_token']}"}
    return body


@dataclass
class World:
    """Two recipient hospitals, each with an expert and a supervisor, plus HR, an admin and a second expert at A."""

    home: Institution
    other_home: Institution
    hospital_a: Institution
    hospital_b: Institution
    agreement_a: Agreement
    agreement_b: Agreement
    expert_a: User
    expert_a2: User
    expert_b: User
    supervisor_a: User
    supervisor_b: User
    hr: User
    other_hr: User
    admin: User
    deployment_a: Deployment
    deployment_a2: Deployment
    deployment_b: Deployment
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def headers(self, client: Any, who: str) -> dict[str, str]:
        """Authorization headers of one of the world's people (`expert_a`, `supervisor_b`, ...), cached."""
        if who not in self.tokens:
            user: User = getattr(self, who)
            self.tokens[who] = await login(client, user.username)
        return self.tokens[who]["headers"]


async def make_world(session: AsyncSession, *, today: date | None = None) -> World:
    today = today or date.today()
    home = await make_institution(session, kind="supporting_hospital", level="tertiary_a", name="省人民医院")
    other_home = await make_institution(session, kind="supporting_hospital", level="tertiary_a", name="市中心医院")
    a = await make_institution(session, name="甲县人民医院")
    b = await make_institution(session, name="乙县人民医院")
    agr_a = await make_agreement(session, home, a, programme="team_support")
    agr_b = await make_agreement(session, other_home, b)
    expert_a = await make_user(session, home=home, name="专家甲")
    expert_a2 = await make_user(session, home=home, name="专家甲二")
    expert_b = await make_user(session, home=other_home, name="专家乙")
    sup_a = await make_user(session, roles=[("supervisor", a.id)], home=a, name="审核甲")
    sup_b = await make_user(session, roles=[("supervisor", b.id)], home=b, name="审核乙")
    hr = await make_user(session, roles=[("hr", home.id)], home=home, name="人事")
    other_hr = await make_user(session, roles=[("hr", other_home.id)], home=other_home, name="人事乙")
    admin = await make_user(session, roles=[("admin", None)], name="管理员")
    start = today - timedelta(days=120)
    dep_a = await make_deployment(session, expert_a, a, agreement=agr_a, starts_on=start, post="vice_president")
    dep_a2 = await make_deployment(session, expert_a2, a, agreement=agr_a, starts_on=start)
    dep_b = await make_deployment(session, expert_b, b, agreement=agr_b, starts_on=start)
    await session.commit()
    return World(home, other_home, a, b, agr_a, agr_b, expert_a, expert_a2, expert_b, sup_a, sup_b, hr, other_hr,
                 admin, dep_a, dep_a2, dep_b)
