"""The end checks of the chaos run, by direct SQL: nothing lost, nothing twice, every phone equal to the server.

* every mutation a phone made has an answer on the phone and the same stored answer on the server;
* no mutation answered `applied`/`duplicate` lacks its row (the entry version it names exists);
* no record exists twice (each create's unique note token appears on at most one entry), and the server holds
  no entry or mutation for a device that the device never made;
* every phone's local entries equal the server's live entries of that expert: same ids, and for each the same
  version, status, note, fields, work date, activity type and deployment; no entry on the phone is marked
  deleted or still pending once its outbox is empty. Each difference is named entry by entry, field by field.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from backend.db.engine import plain_url

SUCCESS = ("applied", "duplicate")


@dataclass
class ChaosResult:
    phones: int
    mutations: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    phantom: int = 0
    applied_without_row: int = 0
    answer_mismatch: int = 0
    local_mismatch: int = 0
    differing_entries: int = 0
    unsettled_phones: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.phantom or self.applied_without_row or self.answer_mismatch
                    or self.local_mismatch or self.unsettled_phones or self.stats.get("protocol_errors"))

    def render(self) -> str:
        lines = [
            f"chaos run: {self.phones} phones, {self.mutations} mutations in {self.seconds:.1f} s "
            f"({self.mutations / max(self.seconds, 0.001):.0f} mutations/s while driven)",
            "answers: " + ", ".join(f"{k} {self.outcomes.get(k, 0)}" for k in
                                    ("applied", "duplicate", "conflict", "locked", "rejected")),
            f"lost {self.lost} | duplicated {self.duplicated} | phantom {self.phantom} | "
            f"applied-without-row {self.applied_without_row} | answer mismatches {self.answer_mismatch} | "
            f"phones differing from server {self.local_mismatch} ({self.differing_entries} entries) | "
            f"unsettled phones {self.unsettled_phones}",
            "faults and events: " + ", ".join(f"{k} {v}" for k, v in sorted(self.stats.items())),
            "RESULT: " + ("OK" if self.ok else "FAILED"),
        ]
        lines += [f"  e.g. {e}" for e in self.examples[:12]]
        return "\n".join(lines)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


async def check_run(database_url: str, phones: list[Any], stats: Counter[str], *, seconds: float) -> ChaosResult:
    result = ChaosResult(phones=len(phones), stats=stats, seconds=seconds)
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        devices = [p.device_id for p in phones]
        users = [p.person.user_id for p in phones]
        mutation_rows = await conn.fetch("SELECT device_id, seq, outcome FROM sync_mutations "
                                         "WHERE device_id = ANY($1::text[])", devices)
        version_rows = await conn.fetch("SELECT v.entry_id, v.version FROM entry_versions v JOIN entries e "
                                        "ON e.id = v.entry_id WHERE e.expert_id = ANY($1::uuid[])", users)
        entry_rows = await conn.fetch("SELECT id, expert_id, version, status, deleted_at IS NOT NULL AS deleted, note, "
                                      "fields::text AS fields, work_date, activity_type, deployment_id "
                                      "FROM entries WHERE expert_id = ANY($1::uuid[])", users)
    finally:
        await conn.close()
    answers: dict[str, dict[int, str]] = {}
    for r in mutation_rows:
        answers.setdefault(r["device_id"], {})[r["seq"]] = r["outcome"]
    versions = {(str(r["entry_id"]), r["version"]) for r in version_rows}
    entries_of: dict[Any, list[Any]] = {}
    for r in entry_rows:
        entries_of.setdefault(r["expert_id"], []).append(r)
    for phone in phones:
        _check_phone(result, phone, answers.get(phone.device_id, {}), versions, entries_of.get(phone.person.user_id, []))
    return result


def _check_phone(result: ChaosResult, phone: Any, stored: dict[int, str], versions: set[tuple[str, int]],
                 entries: list[Any]) -> None:
    if phone.errors:
        result.unsettled_phones += 1
        result.examples.append(f"phone {phone.index}: {phone.errors[:3]}")
    history = phone.client.store.history()
    result.mutations += len(history)
    created = set()
    for item, outcome, answer in history:
        if item.kind == "create":
            created.add(item.record_id)
        if outcome is None:
            result.lost += 1
            result.examples.append(f"phone {phone.index} mutation {item.seq} never answered")
            continue
        result.outcomes[outcome] += 1
        on_server = stored.get(item.seq)
        if on_server is None:
            result.lost += 1
            result.examples.append(f"phone {phone.index} mutation {item.seq} answered {outcome} but not on the server")
        elif (on_server in SUCCESS) != (outcome in SUCCESS) or (outcome not in SUCCESS and on_server != outcome):
            result.answer_mismatch += 1
            result.examples.append(f"phone {phone.index} mutation {item.seq}: phone {outcome}, server {on_server}")
        if outcome in SUCCESS and (item.record_id, (answer or {}).get("version")) not in versions:
            result.applied_without_row += 1
            result.examples.append(f"phone {phone.index} mutation {item.seq} {item.kind} applied, no version row")
    made = {item.seq for item, _, _ in history}
    result.phantom += sum(1 for seq in stored if seq not in made)
    result.phantom += sum(1 for e in entries if str(e["id"]) not in created)
    tokens = Counter((e["note"] or "").split(" ")[0] for e in entries)
    result.duplicated += sum(n - 1 for n in tokens.values() if n > 1)
    _compare_store(result, phone, entries)


COMPARED = ("version", "status", "note", "fields", "work_date", "activity_type", "deployment_id")
SETTLED_STATES = ("synced", "conflict", "locked", "rejected")


def server_view(e: Any) -> dict[str, Any]:
    """The compared fields of a server entry row, in the phone's JSON spelling."""
    return {"version": e["version"], "status": e["status"], "note": e["note"], "fields": json.loads(e["fields"]),
            "work_date": e["work_date"].isoformat(), "activity_type": e["activity_type"],
            "deployment_id": str(e["deployment_id"])}


def phone_view(r: Any) -> dict[str, Any]:
    """The same fields of what the phone shows (its `data`, not its last server copy)."""
    return {k: r.data.get(k) for k in COMPARED}


def entry_differences(server: dict[str, Any], local: dict[str, Any], deleted: set[str]) -> dict[str, str]:
    """Entry id -> what differs, for every entry that is not the same on the phone and on the server.

    `server`: the expert's live entries by id; `local`: the phone's entry records by id (refused creates, which
    never reached the server, left out); `deleted`: ids the server holds as tombstones.
    """
    out: dict[str, str] = {}
    for rid in sorted(set(server) | set(local)):
        e, r = server.get(rid), local.get(rid)
        if r is None:
            out[rid] = f"on the server {_brief(server_view(e))}, missing on the phone"
            continue
        where = "deleted on the server" if rid in deleted else "unknown to the server"
        if e is None:
            out[rid] = (f"on the phone (state {r.state}, deleted flag {bool(r.data.get('deleted'))}, "
                        f"{_brief(phone_view(r))}), {where}")
            continue
        problems = [f"{k}: server {_canon(v)} phone {_canon(phone_view(r)[k])}"
                    for k, v in server_view(e).items() if _canon(v) != _canon(phone_view(r)[k])]
        if r.data.get("deleted"):
            problems.append("the phone marks it deleted, the server has it live")
        if r.state not in SETTLED_STATES:
            problems.append(f"state {r.state} with an empty outbox")
        if problems:
            out[rid] = "; ".join(problems)
    return out


def _brief(view: dict[str, Any]) -> str:
    return f"v{view['version']} {view['status']} note {view['note']!r}"


def _compare_store(result: ChaosResult, phone: Any, entries: list[Any]) -> None:
    server = {str(e["id"]): e for e in entries if not e["deleted"]}
    deleted = {str(e["id"]) for e in entries if e["deleted"]}
    # A refused create never reached the server (no server version): it stays on the phone for the user to fix.
    # A refused update of an entry the server has leaves the server's copy on the phone, marked `rejected`.
    local = {r.id: r for r in phone.client.store.records("entry")
             if not (r.state == "rejected" and r.server_version is None)}
    differing = entry_differences(server, local, deleted)
    if differing:
        result.local_mismatch += 1
        result.differing_entries += len(differing)
        for rid, what in list(differing.items())[:3]:
            result.examples.append(f"phone {phone.index} ({len(differing)} entries differ) entry {rid}: {what}")


def fresh_embedded_database(data_dir: Path, keep: list[Any], name: str = "fieldlog_chaos") -> str:
    """Start the embedded PostgreSQL under `data_dir`, recreate database `name`, migrate it; returns its URL."""
    from urllib.parse import urlsplit, urlunsplit

    from backend.db.engine import start_embedded
    from backend.db.migrate import upgrade

    server = start_embedded(data_dir)
    keep.append(server)
    maintenance = plain_url(str(server.get_uri()))

    async def recreate() -> None:
        conn = await asyncpg.connect(maintenance)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    parts = urlsplit(maintenance)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    upgrade(url)
    return url
