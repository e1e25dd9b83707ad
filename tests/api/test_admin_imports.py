"""Roster import over HTTP: CSV and XLSX, Chinese headers, per-row report, all or nothing, dry run."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from backend.models import Deployment, Institution, RoleGrant, User
from tests.factories import World, login

BASE = "/api/v1/admin/imports"
CSV = {"content-type": "text/csv; charset=utf-8"}
XLSX = {"content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def count(session: Any, model: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_institutions_from_csv_with_chinese_headers(client: Any, world: World, session: Any) -> None:
    h = {**await world.headers(client, "admin"), **CSV}
    sheet = ("机构编码,机构名称,机构类型,等级,县编码,是否中医\n"
             "QX-001,丁县人民医院,县级受援医院,二甲,522301,否\n"
             "QX-002,丁县中医院,county_hospital,secondary_a,522301,是\n")
    before = await count(session, Institution)
    dry = await client.post(f"{BASE}/institutions", params={"dry_run": "true"}, content=sheet.encode(), headers=h)
    assert dry.status_code == 200, dry.text
    assert dry.json()["committed"] is False
    assert dry.json()["ok"] == 2
    assert await count(session, Institution) == before
    r = await client.post(f"{BASE}/institutions", content=sheet.encode(), headers=h)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["committed"] is True
    assert report["all_or_nothing"] is True
    assert [(row["row"], row["status"]) for row in report["rows"]] == [(2, "ok"), (3, "ok")]
    tcm = (await session.execute(select(Institution).where(Institution.code == "QX-002"))).scalar_one()
    assert tcm.is_tcm is True
    assert tcm.kind == "county_hospital"


async def test_a_bad_row_is_reported_and_nothing_is_written(client: Any, world: World, session: Any) -> None:
    h = {**await world.headers(client, "admin"), **CSV}
    sheet = ("姓名,工号或用户名,职称,派出医院编码,角色\n"
             f"钱七,qian7,主任医师,{world.home.code},派驻专家\n"
             f"孙八,s,教授,NOPE,派驻专家\n"
             f"李九,qian7,护师,{world.home.code},人事:{world.home.code}\n")
    users = await count(session, User)
    r = await client.post(f"{BASE}/users", content=sheet.encode(), headers=h)
    assert r.status_code == 422, r.text
    body = r.json()
    report = body["report"]
    assert report["committed"] is False
    assert (report["ok"], report["failed"]) == (1, 2)
    rows = {row["row"]: {e["field"]: e["code"] for e in row.get("errors", [])} for row in report["rows"]}
    assert rows[2] == {}
    assert rows[3] == {"username": "invalid", "title": "invalid_choice", "home_code": "not_found"}
    assert rows[4] == {"username": "username_taken"}  # the same file's row 2 took it
    assert "rows[3].title" in {e["field"] for e in body["errors"]}
    assert await count(session, User) == users


async def test_users_from_xlsx_get_generated_passwords_that_work(client: Any, world: World, session: Any) -> None:
    h = {**await world.headers(client, "admin"), **XLSX}
    body = xlsx([["name", "username", "title", "home_code", "roles", "phone"],
                 ["周十", "zhou10", "attending_physician", world.home.code, "expert", 13900000000],
                 ["吴一", "wu01", "主管护师", world.home.code, f"expert; hr:{world.home.code}", None]])
    r = await client.post(f"{BASE}/users", content=body, headers=h)
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert all(row["status"] == "ok" and row["initial_password"] for row in rows)
    assert await login(client, "zhou10", password=rows[0]["initial_password"])
    wu = (await session.execute(select(User).where(User.username == "wu01"))).scalar_one()
    roles = set((await session.execute(select(RoleGrant.role).where(RoleGrant.user_id == wu.id))).scalars())
    assert roles == {"expert", "hr"}
    assert wu.title == "supervisor_nurse"


async def test_deployments_from_xlsx_link_their_agreement(client: Any, world: World, session: Any) -> None:
    h = {**await world.headers(client, "admin"), **XLSX}
    body = xlsx([["工号或用户名", "受援医院编码", "科室", "职务", "开始日期", "计划结束日期"],
                 [world.expert_a2.username, world.hospital_a.code, "儿科", "科主任", "2025-09-01", "2026/2/28"],
                 [world.expert_b.username, world.hospital_a.code, "儿科", "临床专家", "2025-09-01", None]])
    r = await client.post(f"{BASE}/deployments", params={"dry_run": "true"}, content=body, headers=h)
    assert r.status_code == 200
    assert [row["status"] for row in r.json()["rows"]] == ["ok", "ok"]
    r = await client.post(f"{BASE}/deployments", content=body, headers=h)
    assert r.status_code == 200, r.text
    linked = (await session.execute(select(Deployment.agreement_id).where(
        Deployment.expert_id == world.expert_a2.id, Deployment.department == "儿科"))).scalar_one()
    unlinked = (await session.execute(select(Deployment.agreement_id).where(
        Deployment.expert_id == world.expert_b.id, Deployment.department == "儿科"))).scalar_one()
    assert linked == world.agreement_a.id
    assert unlinked is None


async def test_sheet_level_problems(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    r = await client.post(f"{BASE}/users", content=b"name,mail\nA,a@b\n", headers={**h, **CSV})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"columns.mail", "columns.username"}
    r = await client.post(f"{BASE}/users", content=b"{}", headers={**h, "content-type": "application/json"})
    assert r.status_code == 415
    r = await client.post(f"{BASE}/users", content=b"not a zip", headers={**h, **XLSX})
    assert r.status_code == 400
    r = await client.post(f"{BASE}/agreements", content=b"a\n", headers={**h, **CSV})
    assert r.status_code == 422  # not one of the import kinds: 422 naming the parameter
    assert r.json()["errors"][0]["field"] == "kind"
    r = await client.post(f"{BASE}/users", content=b"name,username\nA,aaa\n", headers={
        **(await world.headers(client, "hr")), **CSV})
    assert r.status_code == 403
