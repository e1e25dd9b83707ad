"""Trainees are recorded once at a deployment hospital and seen only by those who work there."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.test_auth import problem
from tests.factories import World


def trainee(world: World, **overrides: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "institution_id": str(world.hospital_a.id), "name": "李医生", "post": "住院医师",
            **overrides}


async def test_expert_records_a_trainee_once(client: Any, world: World) -> None:
    headers = await world.headers(client, "expert_a")
    body = trainee(world)
    first = await client.post("/api/v1/trainees", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post("/api/v1/trainees", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    changed = problem(await client.post("/api/v1/trainees", json={**body, "name": "李四"}, headers=headers), 409)
    assert changed["current"] == first.json()
    # Another expert cannot learn anything from reusing the id.
    other = await client.post("/api/v1/trainees", json=body, headers=await world.headers(client, "expert_a2"))
    assert "current" not in problem(other, 409)


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"institution_id": "HOSPITAL_B"}, "institution_id", "not_your_hospital"),
    ({"name": "李医生 13812345678"}, "name", "personal_data"),
    ({"name": "   "}, "name", "required"),
])
async def test_bad_trainee_names_the_field(client: Any, world: World, change: dict[str, Any], field: str,
                                           code: str) -> None:
    if change.get("institution_id") == "HOSPITAL_B":
        change = {"institution_id": str(world.hospital_b.id)}
    r = await client.post("/api/v1/trainees", json=trainee(world, **change),
                          headers=await world.headers(client, "expert_a"))
    assert (field, code) in [(e["field"], e["code"]) for e in problem(r, 422)["errors"]]


async def test_trainees_are_listed_in_scope(client: Any, world: World) -> None:
    body = trainee(world)
    assert (await client.post("/api/v1/trainees", json=body,
                              headers=await world.headers(client, "expert_a"))).status_code == 201
    sees = {"expert_a": True, "expert_a2": True, "supervisor_a": True, "admin": True, "expert_b": False,
            "supervisor_b": False, "hr": False}
    for who, visible in sees.items():
        listed = (await client.get("/api/v1/trainees", headers=await world.headers(client, who))).json()
        assert [t["id"] for t in listed] == ([body["id"]] if visible else []), who


async def test_only_experts_record_trainees(client: Any, world: World) -> None:
    problem(await client.post("/api/v1/trainees", json=trainee(world),
                              headers=await world.headers(client, "supervisor_a")), 403)
