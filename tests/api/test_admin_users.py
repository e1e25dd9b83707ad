"""Back office over HTTP: users, role grants, disabling, devices; experts as supervisors and HR see them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.models import Device, RefreshToken
from tests.factories import PASSWORD, World, login

BASE = "/api/v1/admin"


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["code"] for e in body["errors"]}


async def test_user_is_created_with_scoped_roles_searched_and_changed(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    body = {"username": "Wang.Wu", "name": "王五", "password": "Secret-pass-9", "title": "chief_physician",
            "home_institution_id": str(world.home.id),
            "roles": [{"role": "expert"}, {"role": "supervisor", "institution_id": str(world.hospital_b.id)}]}
    r = await client.post(f"{BASE}/users", json=body, headers=h)
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["username"] == "wang.wu"
    assert user["title_label_zh"] == "主任医师"
    assert user["home_institution_name"] == world.home.name
    assert {(g["role"], g["institution_name"]) for g in user["roles"]} == {("expert", None),
                                                                           ("supervisor", world.hospital_b.name)}
    found = (await client.get(f"{BASE}/users", params={"q": "王五"}, headers=h)).json()
    assert [u["id"] for u in found["items"]] == [user["id"]]
    supervisors_b = (await client.get(f"{BASE}/users", params={"role": "supervisor",
                                                               "institution_id": str(world.hospital_b.id)},
                                      headers=h)).json()
    assert {u["id"] for u in supervisors_b["items"]} == {user["id"], str(world.supervisor_b.id)}
    r = await client.patch(f"{BASE}/users/{user['id']}", json={"phone": "13800000000", "specialty": "心内科"}, headers=h)
    assert r.status_code == 200
    assert r.json()["phone"] == "13800000000"
    assert (await login(client, "wang.wu", password="Secret-pass-9"))["access_token"]


async def test_user_input_is_checked(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    body = {"username": "zhao6", "name": "赵六", "password": "Secret-pass-9"}
    assert fields(problem(await client.post(f"{BASE}/users", json={**body, "email": "x@y"}, headers=h), 422)) == {
        "email": "unknown_field"}
    assert fields(problem(await client.post(f"{BASE}/users", json={**body, "title": "professor"}, headers=h), 422)) == {
        "title": "invalid_choice"}
    r = await client.post(f"{BASE}/users", json={**body, "roles": [{"role": "supervisor",
                                                                      "institution_id": str(world.home.id)}]}, headers=h)
    assert fields(problem(r, 422)) == {"roles[0].institution_id": "not_recipient"}
    r = await client.post(f"{BASE}/users", json={**body, "username": world.expert_a.username}, headers=h)
    assert problem(r, 409)["reason"] == "username_taken"
    assert fields(problem(await client.post(f"{BASE}/users", json={**body, "password": "short"}, headers=h), 422)) == {
        "password": "weak_password"}


async def test_disabling_a_user_kills_their_access_token_at_once(client: Any, world: World, session: Any) -> None:
    h = await world.headers(client, "admin")
    expert = await world.headers(client, "expert_a")
    assert (await client.get("/api/v1/me", headers=expert)).status_code == 200
    r = await client.post(f"{BASE}/users/{world.expert_a.id}/disable", headers=h)
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    assert problem(await client.get("/api/v1/me", headers=expert), 401)["reason"] == "user_disabled"
    tokens = (await session.execute(select(RefreshToken.revoked_reason).where(
        RefreshToken.user_id == world.expert_a.id))).scalars().all()
    assert tokens
    assert set(tokens) == {"user_disabled"}
    assert (await client.post("/api/v1/auth/login", json={"username": world.expert_a.username, "password": PASSWORD,
                                                          "device_id": "dev-disabled-1"})).status_code == 401
    assert (await client.post(f"{BASE}/users/{world.expert_a.id}/enable", headers=h)).json()["is_active"] is True
    assert await login(client, world.expert_a.username)
    assert problem(await client.post(f"{BASE}/users/{world.admin.id}/disable", headers=h), 409)["reason"] == "self"


async def test_password_reset_signs_the_user_out(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    expert = await world.headers(client, "expert_b")
    r = await client.post(f"{BASE}/users/{world.expert_b.id}/password", json={"password": "New-secret-42"}, headers=h)
    assert r.status_code == 204
    assert problem(await client.get("/api/v1/me", headers=expert), 401)["reason"] == "session_revoked"
    assert await login(client, world.expert_b.username, password="New-secret-42")


async def test_roles_are_granted_and_revoked_and_apply_on_the_next_request(client: Any, world: World) -> None:
    h = await world.headers(client, "admin")
    hr = await world.headers(client, "hr")
    r = await client.post(f"{BASE}/users/{world.hr.id}/roles",
                          json={"role": "supervisor", "institution_id": str(world.hospital_b.id)}, headers=h)
    assert r.status_code == 201, r.text
    grant = r.json()
    me = (await client.get("/api/v1/me", headers=hr)).json()
    assert {g["role"] for g in me["roles"]} == {"hr", "supervisor"}
    again = await client.post(f"{BASE}/users/{world.hr.id}/roles",
                              json={"role": "supervisor", "institution_id": str(world.hospital_b.id)}, headers=h)
    assert problem(again, 409)["reason"] == "already_granted"
    assert fields(problem(await client.post(f"{BASE}/users/{world.hr.id}/roles", json={"role": "hr"}, headers=h),
                          422)) == {"institution_id": "scope"}
    assert fields(problem(await client.post(f"{BASE}/users/{world.hr.id}/roles", json={"role": "owner"}, headers=h),
                          422)) == {"role": "invalid_choice"}
    assert (await client.delete(f"{BASE}/users/{world.hr.id}/roles/{grant['id']}", headers=h)).status_code == 204
    assert {g["role"] for g in (await client.get("/api/v1/me", headers=hr)).json()["roles"]} == {"hr"}
    assert problem(await client.delete(f"{BASE}/users/{world.hr.id}/roles/{grant['id']}", headers=h), 404)


async def test_a_released_device_can_be_used_by_another_user(client: Any, world: World, session: Any) -> None:
    h = await world.headers(client, "admin")
    first = await login(client, world.expert_a.username, device_id="shared-phone-1")
    taken = await client.post("/api/v1/auth/login", json={"username": world.expert_b.username, "password": PASSWORD,
                                                          "device_id": "shared-phone-1"})
    assert problem(taken, 409)["reason"] == "device_in_use"
    user = (await client.get(f"{BASE}/users/{world.expert_a.id}", headers=h)).json()
    assert [d["id"] for d in user["devices"]] == ["shared-phone-1"]
    assert (await client.delete(f"{BASE}/devices/shared-phone-1", headers=h)).status_code == 204
    assert problem(await client.get("/api/v1/me", headers=first["headers"]), 401)
    assert await login(client, world.expert_b.username, device_id="shared-phone-1")
    owner = (await session.execute(select(Device.user_id).where(Device.id == "shared-phone-1"))).scalar_one()
    assert owner == world.expert_b.id
    assert problem(await client.delete(f"{BASE}/devices/no-such-phone", headers=h), 404)


async def test_user_admin_is_for_admins_only(client: Any, world: World) -> None:
    for who in ("supervisor_a", "hr", "expert_a"):
        h = await world.headers(client, who)
        assert problem(await client.get(f"{BASE}/users", headers=h), 403)
        assert problem(await client.post(f"{BASE}/users/{world.expert_b.id}/disable", headers=h), 403)


async def test_supervisor_sees_only_experts_stationed_at_their_hospital(client: Any, world: World) -> None:
    h = await world.headers(client, "supervisor_a")
    page = (await client.get("/api/v1/experts", headers=h)).json()
    assert {e["id"] for e in page["items"]} == {str(world.expert_a.id), str(world.expert_a2.id)}
    assert all(d["recipient_id"] == str(world.hospital_a.id) for e in page["items"] for d in e["deployments"])
    other = (await client.get("/api/v1/experts", params={"institution_id": str(world.hospital_b.id)}, headers=h)).json()
    assert other["items"] == []
    assert other["total"] == 0
    assert problem(await client.get(f"/api/v1/experts/{world.expert_b.id}", headers=h), 404)
    one = (await client.get(f"/api/v1/experts/{world.expert_a.id}", headers=h)).json()
    assert one["deployments"][0]["post_label_zh"] == "副院长"


async def test_hr_sees_only_experts_of_their_home_hospital(client: Any, world: World) -> None:
    h = await world.headers(client, "hr")
    page = (await client.get("/api/v1/experts", params={"institution_id": str(world.home.id)}, headers=h)).json()
    assert {e["id"] for e in page["items"]} == {str(world.expert_a.id), str(world.expert_a2.id)}
    assert problem(await client.get(f"/api/v1/experts/{world.expert_b.id}", headers=h), 404)
    other = await world.headers(client, "other_hr")
    assert [e["id"] for e in (await client.get("/api/v1/experts", headers=other)).json()["items"]] == [
        str(world.expert_b.id)]
    expert = await world.headers(client, "expert_a")
    assert problem(await client.get("/api/v1/experts", headers=expert), 403)


async def test_released_phone_with_sync_history_starts_fresh_for_the_next_user(
    client: Any, world: World, session: Any
) -> None:
    from tests.sync import clinic

    h = await world.headers(client, "admin")
    first = await login(client, world.expert_a.username, device_id="ward-phone-01")
    body = {"request_id": "r1", "device_id": "ward-phone-01", "mutations": [
        {"seq": 1, "kind": "create", "record_id": "00000000-0000-4000-8000-000000000001",
         "data": clinic(world.deployment_a.id)}]}
    pushed = await client.post("/api/v1/sync/push", json=body, headers=first["headers"])
    assert [r["outcome"] for r in pushed.json()["results"]] == ["applied"]
    assert (await client.delete(f"{BASE}/devices/ward-phone-01", headers=h)).status_code == 204
    second = await login(client, world.expert_b.username, device_id="ward-phone-01")
    body["mutations"] = [{"seq": 1, "kind": "create", "record_id": "00000000-0000-4000-8000-000000000002",
                          "data": clinic(world.deployment_b.id)}]
    again = (await client.post("/api/v1/sync/push", json=body, headers=second["headers"])).json()
    # The new user's mutation 1 is applied, not mistaken for the old user's stored answer.
    assert [r["outcome"] for r in again["results"]] == ["applied"]
    assert again["results"][0].get("replayed") is not True
