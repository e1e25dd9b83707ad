"""Entries are scoped: another person's entry answers 404 on every route; versions guard every change."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.test_auth import problem
from tests.api.test_entries import create, entry_body
from tests.factories import World


async def _entry_of_a(client: Any, world: World, **overrides: Any) -> dict[str, Any]:
    r = await create(client, world, entry_body(world, **overrides))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_another_experts_entry_is_404_on_every_route(client: Any, world: World) -> None:
    entry = await _entry_of_a(client, world)
    url = f"/api/v1/entries/{entry['id']}"
    headers = {**await world.headers(client, "expert_a2"), "If-Match": '"1"'}
    for r in (await client.get(url, headers=headers),
              await client.patch(url, json={"note": "mine now"}, headers=headers),
              await client.delete(url, headers=headers)):
        assert "current" not in problem(r, 404)
    # Unchanged for its owner.
    mine = await client.get(url, headers=await world.headers(client, "expert_a"))
    assert mine.json() == entry


async def test_another_experts_entries_are_not_listed(client: Any, world: World) -> None:
    await _entry_of_a(client, world)
    listed = await client.get("/api/v1/entries", headers=await world.headers(client, "expert_b"),
                              params={"deployment_id": str(world.deployment_a.id)})
    assert listed.status_code == 200
    assert listed.json() == {"items": [], "next_cursor": None}


async def test_reusing_another_experts_id_is_409_without_their_data(client: Any, world: World) -> None:
    entry = await _entry_of_a(client, world)
    body = entry_body(world, id=entry["id"], deployment_id=str(world.deployment_b.id))
    conflict = problem(await create(client, world, body, who="expert_b"), 409)
    assert conflict["reason"] == "id_taken"
    assert "current" not in conflict


async def test_a_deployment_not_yours_is_a_field_error(client: Any, world: World) -> None:
    body = entry_body(world, deployment_id=str(world.deployment_b.id))
    errors = problem(await create(client, world, body), 422)["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("deployment_id", "unknown_deployment")]
    entry = await _entry_of_a(client, world)
    r = await client.patch(f"/api/v1/entries/{entry['id']}", json={"deployment_id": str(world.deployment_b.id)},
                           headers={**await world.headers(client, "expert_a"), "If-Match": "1"})
    assert problem(r, 422)["errors"][0]["field"] == "deployment_id"


READERS = {"supervisor_a": True, "supervisor_b": False, "hr": True, "other_hr": False, "admin": True,
           "expert_b": False, "expert_a2": False}


async def test_readers_see_only_entries_in_their_scope(client: Any, world: World) -> None:
    entry = await _entry_of_a(client, world)
    for who, visible in READERS.items():
        headers = await world.headers(client, who)
        r = await client.get(f"/api/v1/entries/{entry['id']}", headers=headers)
        listed = [e["id"] for e in (await client.get("/api/v1/entries", headers=headers)).json()["items"]]
        assert (r.status_code, listed) == ((200, [entry["id"]]) if visible else (404, [])), who


async def test_supervisor_cannot_write_entries(client: Any, world: World) -> None:
    entry = await _entry_of_a(client, world)
    headers = {**await world.headers(client, "supervisor_a"), "If-Match": "1"}
    problem(await client.patch(f"/api/v1/entries/{entry['id']}", json={"note": "x"}, headers=headers), 403)
    problem(await client.post("/api/v1/entries", json=entry_body(world), headers=headers), 403)


async def test_patch_needs_if_match_and_a_current_version(client: Any, world: World) -> None:
    entry = await _entry_of_a(client, world)
    url = f"/api/v1/entries/{entry['id']}"
    headers = await world.headers(client, "expert_a")
    missing = problem(await client.patch(url, json={"note": "术后随访"}, headers=headers), 428)
    assert missing["reason"] == "if_match_required"
    bad = problem(await client.patch(url, json={"note": "x"}, headers={**headers, "If-Match": "abc"}), 422)
    assert bad["errors"][0]["field"] == "If-Match"
    ok = await client.patch(url, json={"note": "术后随访"}, headers={**headers, "If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2
    assert ok.json()["note"] == "术后随访"
    assert ok.headers["etag"] == '"2"'
    stale = problem(await client.patch(url, json={"note": "y"}, headers={**headers, "If-Match": '"1"'}), 409)
    assert stale["reason"] == "stale_version"
    assert stale["current"] == ok.json()


async def test_patch_revalidates_the_whole_entry(client: Any, world: World) -> None:
    entry = await _entry_of_a(client, world)
    r = await client.patch(f"/api/v1/entries/{entry['id']}", json={"fields": {"session": "am"}},
                           headers={**await world.headers(client, "expert_a"), "If-Match": "1"})
    assert problem(r, 422)["errors"][0]["code"] == "no_patients"


async def test_delete_a_draft_leaves_a_tombstone(client: Any, world: World, session: Any) -> None:
    from backend.models import Entry

    entry = await _entry_of_a(client, world)
    url = f"/api/v1/entries/{entry['id']}"
    headers = await world.headers(client, "expert_a")
    problem(await client.delete(url, headers={**headers, "If-Match": '"7"'}), 409)
    r = await client.delete(url, headers={**headers, "If-Match": '"1"'})
    assert r.status_code == 204
    problem(await client.get(url, headers=headers), 404)
    assert (await client.get("/api/v1/entries", headers=headers)).json()["items"] == []
    row = await session.get(Entry, uuid.UUID(entry["id"]))
    assert row is not None
    assert row.deleted_at is not None
    assert row.version == 2


async def test_list_filters_and_pages_by_keyset(client: Any, world: World) -> None:
    from datetime import date, timedelta

    days = [date.today() - timedelta(days=n) for n in range(1, 6)]
    made = [await _entry_of_a(client, world, work_date=str(d)) for d in days]
    await _entry_of_a(client, world, activity_type="lecture", fields={"title": "讲座", "hours": 1},
                      work_date=str(days[0]))
    headers = await world.headers(client, "expert_a")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "activity_type": "clinic", "status": "draft",
                                  "deployment_id": str(world.deployment_a.id)}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/entries", headers=headers, params=params)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [e["id"] for e in made]
    ranged = (await client.get("/api/v1/entries", headers=headers,
                               params={"date_from": str(days[2]), "date_to": str(days[1])})).json()["items"]
    assert [e["work_date"] for e in ranged] == [str(days[1]), str(days[2])]


@pytest.mark.parametrize(("params", "status"), [({"limit": 201}, 422), ({"status": "lost"}, 422),
                                                ({"activity_type": "karaoke"}, 422), ({"cursor": "!!"}, 422)])
async def test_bad_list_parameters_are_refused(client: Any, world: World, params: dict[str, Any],
                                               status: int) -> None:
    problem(await client.get("/api/v1/entries", params=params, headers=await world.headers(client, "expert_a")),
            status)
