"""The reference client against the real server (in-process): answers that arrive out of order, and a first sync
after push answers. Issue 13: an entry created and deleted in one push stayed on the phone as a synced record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync.client.phone import SyncClient
from sync.client.store import ClientStore
from sync.client.transport import HttpTransport, Reply, TransportError
from tests.factories import PASSWORD, login
from tests.sync import clinic


class LossyTransport(HttpTransport):
    """The app over the test client; `drop_next_push_reply` loses one push reply after the server committed."""

    drop_next_push_reply = False

    async def send(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None = None,
                   params: dict[str, str] | None = None) -> Reply:
        reply = await super().send(method, path, headers=headers, body=body, params=params)
        if path.endswith("/sync/push") and self.drop_next_push_reply:
            self.drop_next_push_reply = False
            raise TransportError("the reply was lost on the way back")
        return reply


async def _phone(client: Any, username: str, tmp_path: Path) -> tuple[SyncClient, LossyTransport]:
    transport = LossyTransport("http://testserver", client=client)
    phone = SyncClient(ClientStore(tmp_path / "phone.db"), transport)
    await phone.login(username, PASSWORD)
    return phone, transport


async def test_delete_answered_before_its_create_leaves_nothing_on_the_phone(client: Any, world: Any,
                                                                             tmp_path: Path) -> None:
    phone, transport = await _phone(client, world.expert_a.username, tmp_path)
    entry_id = phone.create_entry(clinic(world.deployment_a.id, note="made then deleted"))
    kept_id = phone.create_entry(clinic(world.deployment_a.id, note="kept"))
    transport.drop_next_push_reply = True
    with pytest.raises(TransportError):
        await phone.push()  # the server applies both creates; the phone never hears so
    assert [i.seq for i in phone.store.pending()] == [1, 2]
    delete_seq = phone.delete_entry(entry_id)
    # A later batch that overtakes the unanswered one: the server has seq 1-2, so it applies the delete now.
    answer = await phone.push_batch(phone.store.pending(from_seq=delete_seq))
    assert [(r["seq"], r["outcome"], r.get("replayed")) for r in answer["results"]] == [(3, "applied", None)]
    assert phone.store.record("entry", entry_id) is None  # an acknowledged deletion is final
    await phone.sync()  # seq 1 and 2 now answered from the stored results; then the first sync
    history = {item.seq: (outcome, result) for item, outcome, result in phone.store.history()}
    assert history[1][0] == "applied"
    assert history[1][1]["replayed"] is True
    assert phone.store.pending() == []
    assert phone.store.record("entry", entry_id) is None
    assert [(r.id, r.state, r.data["note"]) for r in phone.store.records("entry")] == [(kept_id, "synced", "kept")]
    server = await client.get(f"/api/v1/entries/{entry_id}", headers=phone.headers())
    assert server.status_code == 404


async def test_first_sync_forgets_a_pushed_entry_that_was_deleted_elsewhere(client: Any, world: Any,
                                                                           tmp_path: Path) -> None:
    phone, _ = await _phone(client, world.expert_a.username, tmp_path)
    entry_id = phone.create_entry(clinic(world.deployment_a.id, note="deleted on the web"))
    assert await phone.push() == 1  # confirmed by the push answer, never pulled
    assert phone.store.record("entry", entry_id).state == "synced"  # type: ignore[union-attr]
    other = await login(client, world.expert_a.username)
    gone = await client.delete(f"/api/v1/entries/{entry_id}", headers=other["headers"])
    assert gone.status_code == 204, gone.text
    await phone.pull()  # a first sync: a snapshot of live entries, no tombstones
    assert phone.store.record("entry", entry_id) is None
    assert phone.store.get_meta("cursor")
