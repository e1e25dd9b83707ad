"""The body contract on the bodies people use most: nothing a client sends is silently dropped (issue 16)."""

from __future__ import annotations

import gzip
from typing import Any

from sqlalchemy import func, select

from backend.models import Entry
from tests.api.test_auth import problem
from tests.api.test_entries import entry_body
from tests.factories import World


async def _entries(session: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(Entry))).scalar_one())


async def test_a_misspelt_key_in_a_new_entry_is_refused_and_nothing_is_written(client: Any, world: World,
                                                                              session: Any) -> None:
    headers = await world.headers(client, "expert_a")
    body = {**entry_body(world), "notes": "随访 3 例"}  # meant `note`
    error = problem(await client.post("/api/v1/entries", json=body, headers=headers), 422)["errors"]
    assert error == [{"field": "notes", "code": "unknown_field", "message": "Object contains unknown field `notes`"}]
    assert await _entries(session) == 0


async def test_a_client_cannot_smuggle_a_status_into_a_new_entry(client: Any, world: World, session: Any) -> None:
    headers = await world.headers(client, "expert_a")
    r = await client.post("/api/v1/entries", json={**entry_body(world), "status": "approved"}, headers=headers)
    assert problem(r, 422)["errors"][0]["field"] == "status"
    assert await _entries(session) == 0


async def test_an_unknown_key_inside_the_location_is_named_by_its_path(client: Any, world: World) -> None:
    headers = await world.headers(client, "expert_a")
    body = entry_body(world, location={"lat": 30.1, "lon": 104.2, "altitude": 500})
    r = await client.post("/api/v1/entries", json=body, headers=headers)
    assert problem(r, 422)["errors"][0]["field"] == "location.altitude"


async def test_a_patch_with_an_unknown_key_changes_nothing(client: Any, world: World) -> None:
    headers = await world.headers(client, "expert_a")
    created = (await client.post("/api/v1/entries", json=entry_body(world, note="原"), headers=headers)).json()
    url = f"/api/v1/entries/{created['id']}"
    r = await client.patch(url, json={"note": "新", "remark": "x"}, headers={**headers, "If-Match": '"1"'})
    assert problem(r, 422)["errors"][0]["field"] == "remark"
    after = (await client.get(url, headers=headers)).json()
    assert (after["note"], after["version"]) == ("原", 1)


async def test_broken_json_is_400_even_when_an_earlier_field_is_also_wrong(client: Any, world: World) -> None:
    headers = {**await world.headers(client, "expert_a"), "Content-Type": "application/json"}
    body = problem(await client.post("/api/v1/entries", content=b'{"id": "x",', headers=headers), 400)
    assert (body["detail"], body["position"], body["reason"]) == ("JSON is malformed: truncated at byte 11", 11,
                                                                  "malformed_json")


async def test_a_submit_needs_no_body_and_no_content_type(client: Any, world: World) -> None:
    headers = await world.headers(client, "expert_a")
    created = (await client.post("/api/v1/entries", json=entry_body(world), headers=headers)).json()
    r = await client.post(f"/api/v1/entries/{created['id']}/submit", headers=headers)  # what curl -X POST sends
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"


async def test_a_submit_with_an_unknown_key_is_refused_and_the_entry_stays_a_draft(client: Any, world: World) -> None:
    headers = await world.headers(client, "expert_a")
    created = (await client.post("/api/v1/entries", json=entry_body(world), headers=headers)).json()
    r = await client.post(f"/api/v1/entries/{created['id']}/submit", json={"expected_versoin": 1}, headers=headers)
    assert problem(r, 422)["errors"][0]["field"] == "expected_versoin"
    assert (await client.get(f"/api/v1/entries/{created['id']}", headers=headers)).json()["status"] == "draft"


async def test_a_body_sent_to_an_action_that_takes_none_is_refused_not_ignored(client: Any, world: World) -> None:
    headers = await world.headers(client, "admin")
    url = f"/api/v1/admin/users/{world.expert_a.id}/disable"
    body = problem(await client.post(url, json={"reason": "离岗"}, headers=headers), 400)
    assert body["reason"] == "body_not_expected"
    account = (await client.get(f"/api/v1/admin/users/{world.expert_a.id}", headers=headers)).json()
    assert account["is_active"] is True
    assert (await client.post(url, json={}, headers=headers)).status_code == 200  # `{}` means "nothing"
    assert (await client.get(f"/api/v1/admin/users/{world.expert_a.id}", headers=headers)).json()["is_active"] is False


async def test_a_broken_gzip_body_is_400_saying_where(client: Any, world: World) -> None:
    headers = {**await world.headers(client, "expert_a"), "Content-Type": "application/json",
               "Content-Encoding": "gzip"}
    body = problem(await client.post("/api/v1/entries", content=b"\x1f\x8b\x08\x00garbage", headers=headers), 400)
    assert body["reason"] == "malformed_gzip"
    cut = gzip.compress(b'{"id": "x", "note": "a long enough note to be cut"}')[:-12]
    body = problem(await client.post("/api/v1/entries", content=cut, headers=headers), 400)
    assert body["reason"] == "malformed_gzip"
    assert body["position"] == len(cut)
