"""Unknown keys in a push and version skew: refused where they are, never dropped (docs/sync-protocol.md)."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from sync.client.phone import SyncClient
from sync.client.store import ClientStore
from sync.client.transport import HttpTransport, ProtocolError
from sync.server.protocol import SCHEMA_VERSION
from tests.api.test_auth import problem
from tests.factories import PASSWORD, World
from tests.sync import clinic, outcomes, phone


async def test_an_unknown_key_in_one_mutations_data_rejects_that_mutation_only(client: Any, world: World) -> None:
    p = await phone(client, world.expert_a.username)
    bad, good = uuid.uuid4(), uuid.uuid4()
    reply = await p.push([p.mutation("create", bad, clinic(world.deployment_a.id, notes="随访")),
                          p.mutation("create", good, clinic(world.deployment_a.id))])
    assert outcomes(reply) == ["rejected", "applied"]
    assert reply["acknowledged_seq"] == 2
    assert reply["results"][0]["errors"] == [{"field": "notes", "code": "unknown_field",
                                              "message": "Object contains unknown field `notes`"}]
    # Kept on the server where the expert (and a supervisor) can see what was sent.
    kept = (await client.get("/api/v1/sync/rejected", headers=p.headers)).json()
    assert [(k["record_id"], k["payload"]["data"]["notes"]) for k in kept] == [(str(bad), "随访")]
    assert (await client.get(f"/api/v1/entries/{bad}", headers=p.headers)).status_code == 404


async def test_an_unknown_key_in_an_update_rejects_it_and_leaves_the_entry(client: Any, world: World) -> None:
    p = await phone(client, world.expert_a.username)
    rid = uuid.uuid4()
    await p.push([p.mutation("create", rid, clinic(world.deployment_a.id, note="原"))])
    reply = await p.push([p.mutation("update", rid, {"note": "新", "location": {"lat": 1, "lon": 2, "alt": 3}},
                                     base_version=1)])
    assert outcomes(reply) == ["rejected"]
    assert [(e["field"], e["code"]) for e in reply["results"][0]["errors"]] == [("location.alt", "unknown_field")]
    entry = (await client.get(f"/api/v1/entries/{rid}", headers=p.headers)).json()
    assert (entry["note"], entry["version"]) == ("原", 1)


async def test_a_submit_or_delete_carrying_data_is_rejected_not_half_read(client: Any, world: World) -> None:
    p = await phone(client, world.expert_a.username)
    rid = uuid.uuid4()
    await p.push([p.mutation("create", rid, clinic(world.deployment_a.id))])
    reply = await p.push([p.mutation("submit", rid, {"comment": "请审核"}, base_version=1),
                          p.mutation("delete", rid, {"why": "重复"}, base_version=1)])
    assert outcomes(reply) == ["rejected", "rejected"]
    assert [e["field"] for r in reply["results"] for e in r["errors"]] == ["comment", "why"]
    entry = (await client.get(f"/api/v1/entries/{rid}", headers=p.headers)).json()
    assert (entry["status"], entry["deleted"]) == ("draft", False)


async def test_an_unknown_key_outside_data_refuses_the_whole_push(client: Any, world: World) -> None:
    p = await phone(client, world.expert_a.username)
    m = {**p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id)), "priority": "high"}
    r = await client.post("/api/v1/sync/push", json=p.body([m]), headers=p.headers)
    assert problem(r, 422)["errors"][0] == {"field": "mutations[0].priority", "code": "unknown_field",
                                            "message": "Object contains unknown field `priority`"}
    r = await client.post("/api/v1/sync/push", json=p.body([], battery=12), headers=p.headers)
    assert problem(r, 422)["errors"][0]["field"] == "battery"


async def test_a_push_for_a_newer_schema_is_held_and_goes_through_after_the_upgrade(client: Any,
                                                                                  world: World) -> None:
    p = await phone(client, world.expert_a.username)
    config = (await client.get("/api/v1/sync/config", headers=p.headers)).json()
    newer = config["schema_version"] + 1
    rid = uuid.uuid4()
    mutation = p.mutation("create", rid, clinic(world.deployment_a.id))
    for body in (p.body([mutation], schema_version=newer),
                 # A newer app's push may also hold keys this server has never seen: still "hold", not "fix".
                 p.body([{**mutation, "priority": 1}], schema_version=newer, battery=12)):
        r = await client.post("/api/v1/sync/push", json=body, headers=p.headers)
        answer = problem(r, 409)
        assert (answer["reason"], answer["action"], answer["server_schema_version"]) == (
            "schema_version_unsupported", "hold_outbox", config["schema_version"])
    assert (await client.get(f"/api/v1/entries/{rid}", headers=p.headers)).status_code == 404
    # Nothing was acknowledged: the held mutation goes through, under its own number, once the schemas agree.
    reply = await p.push_body(p.body([mutation], schema_version=config["schema_version"]))
    assert (outcomes(reply), reply["acknowledged_seq"]) == (["applied"], 1)


async def test_a_schema_version_below_one_is_a_field_error(client: Any, world: World) -> None:
    p = await phone(client, world.expert_a.username)
    r = await client.post("/api/v1/sync/push", json=p.body([], schema_version=0), headers=p.headers)
    assert problem(r, 422)["errors"][0]["field"] == "schema_version"


async def test_the_reference_client_keeps_its_outbox_while_the_server_is_older(client: Any, world: World,
                                                                             tmp_path: Path) -> None:
    newer = SyncClient(ClientStore(tmp_path / "phone.db"), HttpTransport("http://testserver", client=client),
                       schema_version=SCHEMA_VERSION + 1)
    await newer.login(world.expert_a.username, PASSWORD)
    rid = newer.create_entry(clinic(world.deployment_a.id, note="离线记录"))
    with pytest.raises(ProtocolError) as refused:
        await newer.sync()
    assert (refused.value.status, refused.value.problem["action"]) == (409, "hold_outbox")
    assert [i.record_id for i in newer.store.pending()] == [rid]  # held, not dropped
    newer.schema_version = SCHEMA_VERSION  # the app falls back to what the server reads (or the server upgrades)
    await newer.sync()
    assert newer.store.pending() == []
    assert newer.store.record("entry", rid).state == "synced"


async def test_an_unreadable_push_is_400_saying_where_whether_gzip_or_json(client: Any, world: World) -> None:
    p = await phone(client, world.expert_a.username)
    headers = {**p.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    m = p.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))
    whole = gzip.compress(json.dumps(p.body([m])).encode())
    cut = problem(await client.post("/api/v1/sync/push", content=whole[: len(whole) // 2], headers=headers), 400)
    assert (cut["reason"], cut["position"]) == ("malformed_gzip", len(whole) // 2)
    text = json.dumps(p.body([])).encode()[:-1]  # the closing brace lost
    broken = problem(await client.post("/api/v1/sync/push", content=gzip.compress(text), headers=headers), 400)
    assert (broken["reason"], broken["position"]) == ("malformed_json", len(text))
    assert broken["detail"] == f"JSON is malformed: truncated at byte {len(text)}"
    # Nothing of either was taken for a push: the same mutation, under the same number, is applied now.
    reply = await p.push_body(p.body([m]))
    assert (outcomes(reply), reply["acknowledged_seq"]) == (["applied"], 1)


async def test_a_create_whose_data_names_another_id_is_rejected_not_renamed(client: Any, world: World) -> None:
    p = await phone(client, world.expert_a.username)
    rid, other, same = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    reply = await p.push([p.mutation("create", rid, {**clinic(world.deployment_a.id), "id": str(other)}),
                          p.mutation("create", same, {**clinic(world.deployment_a.id), "id": str(same).upper()})])
    assert outcomes(reply) == ["rejected", "applied"]
    assert [(e["field"], e["code"]) for e in reply["results"][0]["errors"]] == [("id", "id_mismatch")]
    for gone in (rid, other):
        assert (await client.get(f"/api/v1/entries/{gone}", headers=p.headers)).status_code == 404
    assert (await client.get(f"/api/v1/entries/{same}", headers=p.headers)).status_code == 200


def test_id_mismatch_accepts_the_same_uuid_in_any_spelling_only() -> None:
    from sync.server.convert import id_mismatch

    rid = uuid.uuid4()
    assert id_mismatch(rid, {}) is None
    assert id_mismatch(rid, {"id": str(rid).upper()}) is None
    assert id_mismatch(rid, {"id": str(uuid.uuid4())}) is not None
    assert id_mismatch(rid, {"id": "not-a-uuid"}) is not None
    assert id_mismatch(rid, {"id": 7}) is not None
