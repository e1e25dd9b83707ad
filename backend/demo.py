"""Realistic demo data: a 三甲 supporting hospital, two county hospitals, a township centre, their people."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Agreement, AgreementTarget, Deployment, Institution, RoleGrant, User
from backend.security.passwords import hash_password

DEMO_PASSWORD = "fieldlog-demo-2026"  # noqa: S105 - the published password of the demo accounts


class DemoAccount(msgspec.Struct, kw_only=True):
    username: str
    name: str
    role: str
    detail: str


def _ns(name: str) -> uuid.UUID:
    # Stable ids make the demo reproducible and the seed idempotent.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"fieldlog-demo/{name}")


async def seed_demo(session: AsyncSession, *, today: date | None = None) -> list[DemoAccount]:
    """Insert the demo records unless they are already there; return the accounts to print."""
    today = today or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    existing = (await session.execute(select(User.id).where(User.username == "admin"))).scalar_one_or_none()
    accounts = _accounts()
    if existing is not None:
        return accounts
    pwd = hash_password(DEMO_PASSWORD)
    home = Institution(id=_ns("inst/home"), code="H330100001", name="浙江省人民医院", kind="supporting_hospital",
                       level="tertiary_a", province_code="330000", city_code="330100", county_code="330106")
    county_a = Institution(id=_ns("inst/county-a"), code="H330522001", name="长兴县人民医院", kind="county_hospital",
                           level="secondary_a", province_code="330000", city_code="330500", county_code="330522")
    county_b = Institution(id=_ns("inst/county-b"), code="H331127001", name="景宁畲族自治县中医院",
                           kind="county_hospital", level="secondary_a", province_code="330000", city_code="331100",
                           county_code="331127", is_tcm=True)
    township = Institution(id=_ns("inst/township"), code="H330522101", name="长兴县泗安镇中心卫生院",
                           kind="township_centre", level="primary", province_code="330000", city_code="330500",
                           county_code="330522")
    session.add_all([home, county_a, county_b, township])
    await session.flush()
    # Stays began five months ago, so every demo expert is on site today and has history behind them.
    start = today - timedelta(days=150)
    agreements = [
        Agreement(id=_ns("agr/a"), name="浙江省人民医院—长兴县人民医院 组团式帮扶", programme="team_support",
                  supporting_id=home.id, recipient_id=county_a.id, starts_on=date(today.year - 1, 1, 1),
                  ends_on=date(today.year + 2, 12, 31)),
        Agreement(id=_ns("agr/b"), name="浙江省人民医院—景宁县中医院 对口帮扶", programme="counterpart_support",
                  supporting_id=home.id, recipient_id=county_b.id, starts_on=date(today.year - 1, 1, 1),
                  ends_on=date(today.year + 1, 12, 31)),
        Agreement(id=_ns("agr/c"), name="长兴县医共体 泗安分院", programme="medical_alliance",
                  supporting_id=home.id, recipient_id=township.id, starts_on=date(today.year, 1, 1), ends_on=None),
    ]
    session.add_all(agreements)
    await session.flush()
    for agr, staff in ((agreements[0], 5), (agreements[1], 3), (agreements[2], 1)):
        for year in (today.year - 1, today.year):
            session.add(AgreementTarget(agreement_id=agr.id, year=year, min_staff=staff, min_leaders=1 if staff > 1 else 0,
                                        min_continuous_months=6, min_trainees=3, min_new_techniques=1,
                                        full_year_coverage=staff > 1))
    people = [
        ("admin", "系统管理员", None, None, None),
        ("hr.wang", "王人事", "manager", "人事科", home.id),
        ("sup.chen", "陈医务", "attending_physician", "医务科", county_a.id),
        ("sup.liu", "刘医务", "attending_physician", "医务科", county_b.id),
        ("dr.zhang", "张建国", "chief_physician", "普外科", home.id),
        ("dr.li", "李晓燕", "associate_chief_physician", "心内科", home.id),
        ("dr.zhao", "赵明", "attending_physician", "骨科", home.id),
        ("nurse.sun", "孙丽", "supervisor_nurse", "护理部", home.id),
        ("dr.zhou", "周文", "associate_chief_physician", "中医内科", home.id),
        ("dr.wu", "吴海", "attending_physician", "全科医学科", home.id),
    ]
    users: dict[str, User] = {}
    for username, name, title, specialty, inst in people:
        user = User(id=_ns(f"user/{username}"), username=username, name=name, title=title, specialty=specialty,
                    home_institution_id=home.id if inst is not None and username.startswith(("dr.", "nurse.", "hr."))
                    else inst, password_hash=pwd, phone=None)
        users[username] = user
        session.add(user)
    await session.flush()
    grants = [("admin", "admin", None), ("hr.wang", "hr", home.id), ("sup.chen", "supervisor", county_a.id),
              ("sup.chen", "supervisor", township.id), ("sup.liu", "supervisor", county_b.id)]
    grants += [(u, "expert", None) for u in ("dr.zhang", "dr.li", "dr.zhao", "nurse.sun", "dr.zhou", "dr.wu")]
    for username, role, inst in grants:
        session.add(RoleGrant(user_id=users[username].id, role=role, institution_id=inst))
    stays = [
        ("dr.zhang", county_a, agreements[0], "普外科", "vice_president", start, 12),
        ("dr.li", county_a, agreements[0], "心血管内科", "department_head", start, 6),
        ("dr.zhao", county_a, agreements[0], "骨科", "clinical_expert", start + timedelta(days=30), 6),
        ("nurse.sun", county_a, agreements[0], "护理部", "nursing_expert", start, 12),
        ("dr.zhou", county_b, agreements[1], "中医内科", "clinical_expert", start, 12),
        ("dr.wu", township, agreements[2], "全科", "clinical_expert", start, 6),
    ]
    for username, inst, agr, dept, post, begin, months in stays:
        session.add(Deployment(id=_ns(f"dep/{username}"), expert_id=users[username].id, recipient_id=inst.id,
                               agreement_id=agr.id, department=dept, post=post, starts_on=begin,
                               planned_end=begin + timedelta(days=months * 30 + 5), status="active"))
    await session.flush()
    return accounts


def _accounts() -> list[DemoAccount]:
    return [
        DemoAccount(username="admin", name="系统管理员", role="admin", detail="all institutions"),
        DemoAccount(username="hr.wang", name="王人事", role="hr", detail="浙江省人民医院 人事科"),
        DemoAccount(username="sup.chen", name="陈医务", role="supervisor", detail="长兴县人民医院, 泗安镇中心卫生院"),
        DemoAccount(username="sup.liu", name="刘医务", role="supervisor", detail="景宁畲族自治县中医院"),
        DemoAccount(username="dr.zhang", name="张建国", role="expert", detail="主任医师, 副院长 @ 长兴县人民医院"),
        DemoAccount(username="dr.li", name="李晓燕", role="expert", detail="副主任医师, 科主任 @ 长兴县人民医院"),
        DemoAccount(username="dr.zhao", name="赵明", role="expert", detail="主治医师, 临床专家 @ 长兴县人民医院"),
        DemoAccount(username="nurse.sun", name="孙丽", role="expert", detail="主管护师, 护理专家 @ 长兴县人民医院"),
        DemoAccount(username="dr.zhou", name="周文", role="expert", detail="副主任医师 @ 景宁畲族自治县中医院"),
        DemoAccount(username="dr.wu", name="吴海", role="expert", detail="主治医师 @ 泗安镇中心卫生院"),
    ]
