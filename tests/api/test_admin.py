"""Back office over HTTP: institutions, agreements with yearly targets, deployments (admin role only)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from backend.models import SyncFeed
from tests.factories import World, make_institution

BASE = "/api/v1/admin"


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["code"] for e in body["errors"]}


INST = {"code": "GZ-RM-01", "name": "贵州省人民医院", "kind": "supporting_hospital", "level": "tertiary_a",
        "province_code": "520000", "is_tcm": False, "timezone": "Asia/Shanghai"}


async def test_institution_is_created_listed_found_and_changed(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    r = await client.post(f"{BASE}/institutions", json=INST, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["kind_label_zh"] == "支援医院"
    assert created["level_label_zh"] == "三级甲等"
    page = (await client.get(f"{BASE}/institutions", params={"region": "520000"}, headers=h)).json()
    assert [i["code"] for i in page["items"]] == ["GZ-RM-01"]
    assert page["total"] == 1
    search = (await client.get(f"{BASE}/institutions", params={"q": "甲县", "kind": "county_hospital"}, headers=h)).json()
    assert [i["id"] for i in search["items"]] == [str(world.hospital_a.id)]
    r = await client.patch(f"{BASE}/institutions/{created['id']}", json={"is_tcm": True, "timezone": "Asia/Urumqi"},
                           headers=h)
    assert r.status_code == 200
    assert r.json()["is_tcm"] is True
    assert r.json()["timezone"] == "Asia/Urumqi"
    assert (await client.get(f"{BASE}/institutions/{created['id']}", headers=h)).json()["name"] == INST["name"]


async def test_institution_input_is_checked(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    assert fields(problem(await client.post(f"{BASE}/institutions", json={**INST, "beds": 300}, headers=h), 422)) == {
        "beds": "unknown_field"}
    assert fields(problem(await client.post(f"{BASE}/institutions", json={**INST, "kind": "clinic"}, headers=h),
                          422)) == {"kind": "invalid_choice"}
    assert fields(problem(await client.post(f"{BASE}/institutions", json={**INST, "timezone": "Mars/Olympus"},
                                            headers=h), 422)) == {"timezone": "invalid_timezone"}
    dup = await client.post(f"{BASE}/institutions", json={**INST, "code": world.home.code}, headers=h)
    assert problem(dup, 409)["reason"] == "code_taken"
    flip = await client.patch(f"{BASE}/institutions/{world.hospital_a.id}", json={"kind": "supporting_hospital"},
                              headers=h)
    assert problem(flip, 409)["reason"] == "kind_in_use"


async def test_non_admins_are_refused(client: Any, world: World) -> None:
    for who in ("expert_a", "supervisor_a", "hr"):
        h = await world.headers(client, who)
        assert problem(await client.get(f"{BASE}/institutions", headers=h), 403)["reason"] == "role_required"
        body = {"expert_id": str(world.expert_a.id), "recipient_id": str(world.hospital_a.id), "department": "骨科",
                "post": "clinical_expert", "starts_on": "2025-03-01"}
        assert problem(await client.post(f"{BASE}/deployments", json=body, headers=h), 403)
    assert problem(await client.get(f"{BASE}/agreements"), 401)


async def test_agreement_with_targets_defaulting_to_national_policy(client: Any, world: World, session: Any) -> None:
    h = await world.headers(client, "admin")
    tcm = await make_institution(session, name="丙县中医院", is_tcm=True)
    await session.commit()
    body = {"name": "省医—丙县中医院", "programme": "team_support", "supporting_id": str(world.home.id),
            "recipient_id": str(tcm.id), "starts_on": "2025-01-01", "ends_on": "2027-12-31"}
    r = await client.post(f"{BASE}/agreements", json=body, headers=h)
    assert r.status_code == 201, r.text
    agr = r.json()
    assert agr["programme_label_zh"] == "组团式帮扶"
    assert agr["recipient_name"] == "丙县中医院"
    r = await client.put(f"{BASE}/agreements/{agr['id']}/targets/2025", json={"min_trainees": 4}, headers=h)
    assert r.json() == {"year": 2025, "min_staff": 3, "min_leaders": 1, "min_continuous_months": 6,
                        "min_trainees": 4, "min_new_techniques": 0, "full_year_coverage": True}
    r = await client.put(f"{BASE}/agreements/{agr['id']}/targets/2025", json={"min_staff": 6}, headers=h)
    assert r.json()["min_staff"] == 6
    assert r.json()["min_trainees"] == 3
    assert fields(problem(await client.put(f"{BASE}/agreements/{agr['id']}/targets/2030", json={}, headers=h),
                          422)) == {"year": "outside_agreement"}
    got = (await client.get(f"{BASE}/agreements/{agr['id']}", headers=h)).json()
    assert [t["year"] for t in got["targets"]] == [2025]
    listed = (await client.get(f"{BASE}/agreements", params={"recipient_id": str(tcm.id), "year": 2026},
                               headers=h)).json()
    assert [a["id"] for a in listed["items"]] == [agr["id"]]
    r = await client.patch(f"{BASE}/agreements/{agr['id']}", json={"ends_on": "2024-01-01"}, headers=h)
    assert fields(problem(r, 422)) == {"ends_on": "before_start"}


async def test_agreement_parties_must_be_on_the_right_sides(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    body = {"name": "反了", "programme": "counterpart_support", "supporting_id": str(world.hospital_a.id),
            "recipient_id": str(world.home.id), "starts_on": "2025-01-01"}
    r = await client.post(f"{BASE}/agreements", json=body, headers=h)
    assert fields(problem(r, 422)) == {"supporting_id": "not_supporting", "recipient_id": "not_recipient"}
    r = await client.post(f"{BASE}/agreements", json={**body, "programme": "charity"}, headers=h)
    assert fields(problem(r, 422)) == {"programme": "invalid_choice"}


async def test_deployment_is_created_linked_to_the_agreement_and_reaches_the_phone(
        client: Any, world: World, session: Any) -> None:
    h = await world.headers(client, "admin")
    start = date.today() - timedelta(days=10)
    body = {"expert_id": str(world.expert_a2.id), "recipient_id": str(world.hospital_a.id), "department": "心内科",
            "post": "department_head", "starts_on": start.isoformat(),
            "planned_end": (start + timedelta(days=200)).isoformat()}
    r = await client.post(f"{BASE}/deployments", json=body, headers=h)
    assert r.status_code == 201, r.text
    dep = r.json()
    assert dep["agreement_id"] == str(world.agreement_a.id)
    assert dep["status"] == "active"
    feed = (await session.execute(select(SyncFeed.record_id).where(SyncFeed.user_id == world.expert_a2.id,
                                                                   SyncFeed.kind == "deployment"))).scalars().all()
    assert dep["id"] in feed
    r = await client.patch(f"{BASE}/deployments/{dep['id']}", json={"status": "ended"}, headers=h)
    assert fields(problem(r, 422)) == {"actual_end": "required"}
    r = await client.patch(f"{BASE}/deployments/{dep['id']}",
                           json={"status": "ended", "actual_end": date.today().isoformat()}, headers=h)
    assert r.status_code == 200
    assert r.json()["status_label_zh"] == "已结束"
    listed = (await client.get(f"{BASE}/deployments", params={"expert_id": str(world.expert_a2.id),
                                                               "status": "ended"}, headers=h)).json()
    assert [d["id"] for d in listed["items"]] == [dep["id"]]
    assert problem(await client.get(f"{BASE}/deployments", params={"status": "paused"}, headers=h), 422)


async def test_deployment_rules(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    base = {"expert_id": str(world.expert_a.id), "recipient_id": str(world.hospital_a.id), "department": "骨科",
            "post": "clinical_expert", "starts_on": "2025-03-01"}
    r = await client.post(f"{BASE}/deployments", json={**base, "expert_id": str(world.supervisor_a.id),
                                                       "recipient_id": str(world.home.id),
                                                       "planned_end": "2025-01-01"}, headers=h)
    assert fields(problem(r, 422)) == {"expert_id": "not_expert", "recipient_id": "not_recipient",
                                       "planned_end": "before_start"}
    r = await client.post(f"{BASE}/deployments", json={**base, "agreement_id": str(world.agreement_b.id)}, headers=h)
    assert fields(problem(r, 422)) == {"agreement_id": "other_home"}
    r = await client.post(f"{BASE}/deployments", json={**base, "post": "janitor"}, headers=h)
    assert fields(problem(r, 422)) == {"post": "invalid_choice"}
    r = await client.post(f"{BASE}/deployments", json={**base, "notes": "x"}, headers=h)
    assert fields(problem(r, 422)) == {"notes": "unknown_field"}
