"""The reference client against an in-memory fake of the sync server: every result kind and every recovery path."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from sync.client.phone import SyncClient
from sync.client.store import ClientStore
from sync.client.transport import AuthRequired, EnvelopeError, Reply, TransportError
from sync.server.protocol import PROTOCOL


class FakeServer:
    """A small, honest model of the protocol: exactly-once by (device, seq), gaps, a change log with cursors."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.answers: dict[int, dict[str, Any]] = {}
        self.last_ack = 0
        self.log: list[dict[str, Any]] = []  # change feed; cursor = position in it
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.refresh_count = 0
        self.token = "t1"
        # Faults
        self.portal = False
        self.expire_next = False
        self.drop_next_reply = False
        self.offline = False
        self.forget_cursors = False

    def change(self, entry: dict[str, Any], op: str = "upsert") -> None:
        self.log.append({"kind": "entry", "id": entry["id"], "op": op, "data": dict(entry)})

    def _json(self, status: int, body: Any) -> Reply:
        return Reply(status, {}, json.dumps(body, default=str).encode())

    async def send(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None = None,
                   params: dict[str, str] | None = None) -> Reply:
        if self.offline:
            raise TransportError("no signal")
        if self.portal:
            return Reply(200, {}, b"<html>Please accept the terms of the hotel Wi-Fi</html>")
        payload = json.loads(gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body) \
            if body else {}
        self.requests.append((path, payload))
        if path == "/api/v1/auth/login":
            return self._json(200, {"access_token": self.token, "refresh_token": "r1"})
        if path == "/api/v1/auth/refresh":
            self.refresh_count += 1
            self.token = f"t{self.refresh_count + 1}"
            return self._json(200, {"access_token": self.token, "refresh_token": f"r{self.refresh_count + 1}"})
        if headers.get("Authorization") != f"Bearer {self.token}" or self.expire_next:
            self.expire_next = False
            return self._json(401, {"status": 401, "reason": "token_expired", "detail": "expired"})
        if path == "/api/v1/sync/config":
            return self._json(200, {"protocol": PROTOCOL, "max_batch": 3, "max_body_bytes": 100000})
        if path == "/api/v1/sync/push":
            answer = self._push(payload)
        else:
            answer = self._pull(params or {}, headers["X-Request-Id"])
        if self.drop_next_reply:
            self.drop_next_reply = False
            raise TransportError("reply lost after the server committed")
        return self._json(200, answer)

    def _push(self, req: dict[str, Any]) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        gap = False
        for m in req["mutations"]:
            seq = m["seq"]
            if seq <= self.last_ack:
                results.append({**self.answers[seq], "replayed": True})
                continue
            if seq != self.last_ack + 1:
                gap = True
                break
            self.answers[seq] = self._apply(m)
            self.last_ack = seq
            results.append(self.answers[seq])
        return {"protocol": PROTOCOL, "request_id": req["request_id"], "device_id": req["device_id"],
                "acknowledged_seq": self.last_ack, "results": results, "gap": gap,
                "expected_seq": self.last_ack + 1 if gap else None, "server_time": datetime.now(UTC).isoformat()}

    def _apply(self, m: dict[str, Any]) -> dict[str, Any]:
        rid, kind, data = m["record_id"], m["kind"], m["data"]
        base = {"seq": m["seq"], "record_id": rid}
        current = self.entries.get(rid)
        if kind == "create":
            if data.get("note") == "bad":
                return {**base, "outcome": "rejected", "errors": [{"field": "note", "code": "x", "message": "bad"}]}
            if current is not None:
                return {**base, "outcome": "conflict", "server_copy": current}
            entry = {**data, "status": "draft", "version": 1, "deleted": False}
            self.entries[rid] = entry
        elif current is None:
            return {**base, "outcome": "rejected", "errors": [{"field": "record_id", "code": "not_found",
                                                               "message": "no such entry"}]}
        elif current["status"] == "approved":
            return {**base, "outcome": "locked", "reason": "approved", "server_copy": current}
        elif kind == "update" and m["base_version"] != current["version"] and "note" in data \
                and current.get("note_changed_on_server"):
            return {**base, "outcome": "conflict", "server_copy": current}
        else:
            entry = dict(current)
            if kind == "update":
                entry.update(data)
            elif kind == "submit":
                entry["status"] = "submitted"
            else:
                entry["deleted"] = True
            entry["version"] += 1
            self.entries[rid] = entry
        self.change(self.entries[rid], "delete" if self.entries[rid]["deleted"] else "upsert")
        return {**base, "outcome": "applied", "version": self.entries[rid]["version"]}

    def _pull(self, params: dict[str, str], request_id: str) -> dict[str, Any]:
        envelope = {"protocol": PROTOCOL, "request_id": request_id, "catalog_version": 1, "catalog_etag": "x",
                    "server_time": datetime.now(UTC).isoformat()}
        raw = params.get("cursor")
        if raw is not None and (self.forget_cursors or not raw.isdigit()):
            self.forget_cursors = False
            return {**envelope, "changes": [], "cursor": "", "has_more": False, "reset": True,
                    "reset_reason": "unknown_cursor"}
        start = int(raw or 0)
        limit = int(params.get("limit", "100"))
        if raw is None:  # first sync: the current state, not the history
            rows = [{"kind": "entry", "id": e["id"], "op": "upsert", "data": e} for e in self.entries.values()
                    if not e["deleted"]]
            return {**envelope, "changes": rows, "cursor": str(len(self.log)), "has_more": False}
        page = self.log[start:start + limit]
        end = start + len(page)
        return {**envelope, "changes": page, "cursor": str(end), "has_more": end < len(self.log)}


def content(note: str = "clinic morning", **extra: Any) -> dict[str, Any]:
    return {"deployment_id": str(uuid.uuid4()), "work_date": "2025-03-01", "activity_type": "clinic",
            "fields": {"session": "am"}, "note": note, **extra}


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
async def phone(server: FakeServer, tmp_path: Any) -> SyncClient:
    client = SyncClient(ClientStore(tmp_path / "phone.db"), server, pull_limit=2)
    await client.login("expert", "pw")
    return client


def pushed_seqs(server: FakeServer) -> list[list[int]]:
    return [[m["seq"] for m in body["mutations"]] for path, body in server.requests if path.endswith("/push")]


async def test_offline_edits_get_strictly_increasing_numbers_and_sync_in_advertised_batches(
        phone: SyncClient, server: FakeServer) -> None:
    server.offline = True
    ids = [phone.create_entry(content(f"n{i}")) for i in range(4)]
    phone.update_entry(ids[0], {"note": "changed"})
    with pytest.raises(TransportError):
        await phone.sync()
    assert phone.store.pending_stats()[0] == 5
    server.offline = False
    await phone.sync()
    assert pushed_seqs(server) == [[1, 2, 3], [4, 5]]
    assert phone.store.pending_stats() == (0, None)
    assert server.entries[ids[0]]["note"] == "changed"
    assert {r.id: r.server_version for r in phone.store.records("entry")}[ids[0]] == 2
    first_push = next(body for path, body in server.requests if path.endswith("/push"))
    assert first_push["pending_count"] == 5
    assert first_push["oldest_pending_at"] is not None


async def test_reply_lost_after_commit_is_resent_and_answered_from_the_stored_result(
        phone: SyncClient, server: FakeServer) -> None:
    rid = phone.create_entry(content())
    server.drop_next_reply = True
    with pytest.raises(TransportError):
        await phone.sync()
    assert phone.store.pending_stats()[0] == 1  # the phone cannot know the server committed
    await phone.sync()
    assert pushed_seqs(server) == [[1], [1]]
    assert len(server.entries) == 1
    assert phone.store.history()[0][1] == "applied"
    assert phone.store.record("entry", rid).state == "synced"


async def test_captive_portal_200_is_not_taken_for_success(phone: SyncClient, server: FakeServer) -> None:
    phone.create_entry(content())
    server.portal = True
    with pytest.raises(EnvelopeError):
        await phone.sync()
    assert phone.store.pending_stats()[0] == 1


async def test_expired_token_is_refreshed_and_the_very_same_batch_replayed(phone: SyncClient,
                                                                           server: FakeServer) -> None:
    phone.create_entry(content())
    await phone.load_config()
    server.expire_next = True
    server.requests.clear()
    await phone.push()
    pushes = [body for path, body in server.requests if path.endswith("/push")]
    assert server.refresh_count == 1
    assert phone.report.refreshes == 1
    assert [m["seq"] for m in pushes[0]["mutations"]] == [1]
    assert phone.store.pending_stats()[0] == 0


async def test_gap_answer_makes_the_phone_resend_from_the_expected_number(phone: SyncClient,
                                                                          server: FakeServer) -> None:
    for i in range(4):
        phone.create_entry(content(f"n{i}"))
    await phone.load_config()
    later = phone.store.pending()[2:]
    answer = await phone.push_batch(later)  # delivered out of order: 3, 4 before 1, 2
    assert answer["gap"] is True
    assert answer["expected_seq"] == 1
    await phone.sync()
    assert phone.store.pending_stats()[0] == 0
    assert len(server.entries) == 4
    assert phone.report.gaps == 1


async def test_rejected_mutation_is_reported_and_never_blocks_the_queue(phone: SyncClient,
                                                                        server: FakeServer) -> None:
    bad = phone.create_entry(content("bad"))
    good = phone.create_entry(content("good"))
    await phone.sync()
    issues = phone.store.issues()
    assert [(i["record_id"], i["outcome"]) for i in issues] == [(bad, "rejected")]
    assert issues[0]["errors"][0]["field"] == "note"
    assert phone.store.pending_stats()[0] == 0
    assert phone.store.record("entry", bad).state == "rejected"  # kept for the user to correct
    assert good in server.entries


async def test_locked_answer_takes_the_server_copy_and_tells_the_user(phone: SyncClient,
                                                                      server: FakeServer) -> None:
    rid = phone.create_entry(content())
    await phone.sync()
    server.entries[rid] = {**server.entries[rid], "status": "approved", "version": 3}
    phone.update_entry(rid, {"note": "too late"})
    await phone.push()
    rec = phone.store.record("entry", rid)
    assert rec.data["status"] == "approved"
    assert rec.data["note"] == "clinic morning"
    assert rec.state == "locked"
    assert phone.store.issues()[0]["reason"] == "approved"


async def test_conflict_keeps_the_server_copy_and_records_it(phone: SyncClient, server: FakeServer) -> None:
    rid = phone.create_entry(content())
    await phone.sync()
    server.entries[rid] = {**server.entries[rid], "note": "supervisor's", "version": 2, "note_changed_on_server": 1}
    phone.update_entry(rid, {"note": "mine"})
    await phone.push()
    rec = phone.store.record("entry", rid)
    assert rec.data["note"] == "supervisor's"
    assert rec.state == "conflict"
    assert phone.store.issues()[0]["server_copy"]["note"] == "supervisor's"


async def test_interrupted_pull_resumes_from_the_saved_cursor(phone: SyncClient, server: FakeServer) -> None:
    await phone.sync()
    for i in range(5):
        server.entries[f"e{i}"] = {"id": f"e{i}", "note": str(i), "status": "draft", "version": 1, "deleted": False}
        server.change(server.entries[f"e{i}"])
    server.drop_next_reply = False
    original = server._pull
    calls = {"n": 0}

    def flaky(params: dict[str, str], request_id: str) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise TransportError("signal lost mid-pull")
        return original(params, request_id)

    server._pull = flaky  # type: ignore[method-assign]
    with pytest.raises(TransportError):
        await phone.pull()
    assert len(phone.store.records("entry")) == 2  # the first page (limit 2) is kept with its cursor
    await phone.pull()
    assert sorted(r.id for r in phone.store.records("entry")) == [f"e{i}" for i in range(5)]


async def test_reset_pushes_first_then_rebuilds_from_a_fresh_pull(phone: SyncClient, server: FakeServer) -> None:
    kept = phone.create_entry(content("mine"))
    await phone.sync()
    with phone.store.tx() as conn:  # a stale record the server no longer has
        phone.store.put_record(conn, phone.store.record("entry", kept).__class__(
            "entry", "ghost", {"id": "ghost"}, 1, "draft", "synced", {"id": "ghost"}))
    offline_work = phone.create_entry(content("offline"))
    server.forget_cursors = True
    await phone.pull()
    assert phone.report.resets == 1
    assert offline_work in server.entries  # pushed before the wipe
    assert sorted(r.id for r in phone.store.records("entry")) == sorted([kept, offline_work])


async def test_tombstone_removes_the_local_copy(phone: SyncClient, server: FakeServer) -> None:
    rid = phone.create_entry(content())
    await phone.sync()
    phone.delete_entry(rid)
    await phone.sync()
    assert phone.store.record("entry", rid) is None
    assert server.entries[rid]["deleted"] is True


async def test_chained_offline_edits_carry_the_version_each_was_made_on(phone: SyncClient,
                                                                        server: FakeServer) -> None:
    rid = phone.create_entry(content())
    phone.update_entry(rid, {"note": "a"})
    phone.update_entry(rid, {"note": "b"})
    phone.submit_entry(rid)
    assert [i.base_version for i in phone.store.pending()] == [None, 1, 2, 3]
    await phone.sync()
    assert server.entries[rid]["version"] == 4
    assert server.entries[rid]["status"] == "submitted"
    assert phone.store.record("entry", rid).data["note"] == "b"


async def test_revoked_session_without_a_sign_in_hook_keeps_the_queue(phone: SyncClient,
                                                                      server: FakeServer) -> None:
    phone.create_entry(content())

    async def revoked(*_a: Any, **_k: Any) -> Reply:
        return Reply(401, {}, b'{"reason": "refresh_reused"}')

    server.expire_next = True
    original = server.send

    async def send(method: str, path: str, **kw: Any) -> Reply:
        if path.endswith("/refresh"):
            return await revoked()
        return await original(method, path, **kw)

    phone.transport = type("T", (), {"send": staticmethod(send)})()
    with pytest.raises(AuthRequired):
        await phone.sync()
    assert phone.store.pending_stats()[0] == 1


async def test_locked_answer_without_a_server_copy_undoes_the_local_change(phone: SyncClient,
                                                                           server: FakeServer) -> None:
    rid = phone.create_entry(content())
    await phone.sync()
    server.entries[rid] = {**server.entries[rid], "status": "approved"}
    original = server._apply

    def no_copy(m: dict[str, Any]) -> dict[str, Any]:
        answer = original(m)
        answer.pop("server_copy", None)
        return answer

    server._apply = no_copy  # type: ignore[method-assign]
    phone.update_entry(rid, {"note": "too late"})
    await phone.push()
    rec = phone.store.record("entry", rid)
    assert rec.data["note"] == "clinic morning"
    assert rec.state == "locked"
