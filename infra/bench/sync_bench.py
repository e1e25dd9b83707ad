"""Sync benchmark against a real uvicorn process on the embedded PostgreSQL (or --database-url).

    .venv/bin/python infra/bench/sync_bench.py

Prints: push throughput (entries/s) with batches of 1, 20 and 200 from 50 concurrent devices, p50/p95 push
latency, first-sync time of a phone holding 5,000 records, incremental pull latency (<= 100 changes),
bytes on the wire per entry with and without gzip, and the raw asyncpg insert rate of the same rows
(INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING) measured in the same run, with the ratio.
Request bodies are built before the clock starts, so the figures are the server's, not this script's.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backend.db.engine import plain_url  # noqa: E402
from sync.chaos_checks import fresh_embedded_database  # noqa: E402
from sync.chaos_world import CHAOS_PASSWORD, Person, ServerProcess, make_people  # noqa: E402
from sync.protocol import PROTOCOL  # noqa: E402

DEVICES = 50


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


def entry(person: Person, rng: random.Random) -> dict[str, Any]:
    """A typical entry: an expert clinic with a few counts and a short note."""
    return {"id": str(uuid.uuid4()), "deployment_id": str(person.deployment_id),
            "work_date": (date.today() - timedelta(days=rng.randint(1, 100))).isoformat(), "activity_type": "clinic",
            "fields": {"session": rng.choice(["am", "pm"]), "patients_first_visit": rng.randint(1, 40),
                       "patients_follow_up": rng.randint(0, 20)},
            "note": "上午专家门诊，带教本地医生", "device_time": datetime.now(UTC).isoformat()}


class Device:
    def __init__(self, person: Person, device_id: str) -> None:
        self.person, self.device_id, self.seq, self.token = person, device_id, 0, ""

    def body(self, entries: list[dict[str, Any]]) -> tuple[str, bytes, int]:
        muts = []
        for e in entries:
            self.seq += 1
            muts.append({"seq": self.seq, "kind": "create", "record_id": e["id"], "data": e})
        rid = uuid.uuid4().hex
        raw = json.dumps({"request_id": rid, "device_id": self.device_id, "device_time": datetime.now(UTC).isoformat(),
                          "pending_count": len(muts), "mutations": muts}, separators=(",", ":"),
                         ensure_ascii=False).encode()
        return rid, gzip.compress(raw, 6), len(raw)


async def login(http: httpx.AsyncClient, person: Person, device_id: str) -> Device:
    device = Device(person, device_id)
    r = await http.post("/api/v1/auth/login", json={"username": person.username, "password": CHAOS_PASSWORD,
                                                     "device_id": device_id})
    r.raise_for_status()
    device.token = r.json()["access_token"]
    return device


async def push(http: httpx.AsyncClient, device: Device, rid: str, body: bytes) -> float:
    started = time.perf_counter()
    r = await http.post("/api/v1/sync/push", content=body, headers={
        "Authorization": f"Bearer {device.token}", "Content-Type": "application/json", "Content-Encoding": "gzip",
        "X-Request-Id": rid})
    elapsed = time.perf_counter() - started
    answer = r.json()
    if r.status_code != 200 or answer.get("protocol") != PROTOCOL or answer.get("request_id") != rid:
        raise RuntimeError(f"push failed: {r.status_code} {r.text[:300]}")
    bad = [x for x in answer["results"] if x["outcome"] != "applied"]
    if bad:
        raise RuntimeError(f"push answered {bad[:2]}")
    return elapsed


async def push_phase(http: httpx.AsyncClient, devices: list[Device], batch: int, requests: int,
                     rng: random.Random) -> tuple[float, list[float]]:
    plans = [[(device.body([entry(device.person, rng) for _ in range(batch)])) for _ in range(requests)]
             for device in devices]
    latencies: list[float] = []

    async def run(device: Device, plan: list[tuple[str, bytes, int]]) -> None:
        for rid, body, _ in plan:
            latencies.append(await push(http, device, rid, body))

    started = time.perf_counter()
    await asyncio.gather(*(run(d, p) for d, p in zip(devices, plans, strict=True)))
    elapsed = time.perf_counter() - started
    return len(devices) * batch * requests / elapsed, latencies


async def pull_all(http: httpx.AsyncClient, token: str, cursor: str | None, limit: int = 500) -> tuple[int, int, str]:
    """Pull until has_more is false; returns (changes, wire bytes, cursor)."""
    changes = wire = 0
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        rid = uuid.uuid4().hex
        r = await http.get("/api/v1/sync/pull", params=params, headers={
            "Authorization": f"Bearer {token}", "X-Request-Id": rid, "Accept-Encoding": "gzip"})
        page = r.json()
        if r.status_code != 200 or page.get("request_id") != rid:
            raise RuntimeError(f"pull failed: {r.status_code} {r.text[:300]}")
        changes += len(page["changes"])
        wire += r.num_bytes_downloaded
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, wire, cursor


async def raw_insert_rate(url: str, people: list[Person], institution_id: uuid.UUID, rows: int, batch: int,
                          rng: random.Random) -> float:
    """What PostgreSQL itself takes: the same rows through asyncpg, set-based, from 10 connections."""
    pool = await asyncpg.create_pool(plain_url(url), min_size=10, max_size=10)
    sql = """
    INSERT INTO entries (id, expert_id, deployment_id, institution_id, work_date, activity_type, fields, note,
                         status, version, content_hash, device_id, device_time, created_at, updated_at)
    SELECT i, x, d, $4, w, 'clinic', f, n, 'draft', 1, h, 'raw-bench', now(), now(), now()
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $5::date[], $6::jsonb[], $7::text[], $8::text[])
         AS t(i, x, d, w, f, n, h)
    ON CONFLICT DO NOTHING
    """
    batches = []
    for _ in range(rows // batch):
        es = [(rng.choice(people), entry(people[0], rng)) for _ in range(batch)]
        batches.append(([uuid.uuid4() for _ in es], [p.user_id for p, _ in es], [p.deployment_id for p, _ in es],
                        institution_id, [date.fromisoformat(e["work_date"]) for _, e in es],
                        [json.dumps(e["fields"]) for _, e in es], [e["note"] for _, e in es],
                        [hashlib.sha256(json.dumps(e).encode()).hexdigest() for _, e in es]))
    queue = list(batches)

    async def worker() -> None:
        async with pool.acquire() as conn:
            while queue:
                args = queue.pop()
                await conn.execute(sql, *args)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(10)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return len(batches) * batch / elapsed


async def bench(url: str, work: Path, quick: bool) -> None:
    rng = random.Random(42)
    world = await make_people(url, DEVICES + 1)
    people = world.experts
    server = ServerProcess(url, work / "server", extra_env={"FIELDLOG_DB_POOL_SIZE": "20"})
    await server.start()
    out: list[str] = []
    try:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=120, limits=limits) as http:
            devices = await asyncio.gather(*(login(http, p, f"bench-{i:03d}-{uuid.uuid4().hex[:8]}")
                                             for i, p in enumerate(people[:DEVICES])))
            await push_phase(http, devices[:10], 5, 2, rng)  # warm-up: connections, caches, JIT-free paths
            rates: dict[int, float] = {}
            for batch, requests in ((1, 10 if quick else 40), (20, 4 if quick else 10), (200, 2 if quick else 4)):
                rate, lat = await push_phase(http, list(devices), batch, requests, rng)
                rates[batch] = rate
                out.append(f"push  batch {batch:>3} x {DEVICES} devices: {rate:8.0f} entries/s   "
                           f"latency p50 {pct(lat, .5):6.1f} ms  p95 {pct(lat, .95):6.1f} ms  ({len(lat)} pushes)")
            # First sync: one expert with 5,000 records, a new phone.
            owner = people[DEVICES]
            writer = await login(http, owner, f"bench-writer-{uuid.uuid4().hex[:8]}")
            for _ in range(10):
                rid, body, _ = writer.body([entry(owner, rng) for _ in range(500)])
                await push(http, writer, rid, body)
            reader = await login(http, owner, f"bench-reader-{uuid.uuid4().hex[:8]}")
            started = time.perf_counter()
            n, wire, cursor = await pull_all(http, reader.token, None)
            first = time.perf_counter() - started
            out.append(f"first sync of a phone with 5,000 records: {first:.2f} s ({n} changes, "
                       f"{wire / 1e6:.2f} MB on the wire gzipped, {wire / max(n, 1):.0f} B/change)")
            # Incremental pulls of <= 100 changes each.
            lats: list[float] = []
            for _ in range(15 if quick else 50):
                k = rng.randint(1, 100)
                rid, body, _ = writer.body([entry(owner, rng) for _ in range(k)])
                await push(http, writer, rid, body)
                started = time.perf_counter()
                got, _, cursor = await pull_all(http, reader.token, cursor)
                lats.append(time.perf_counter() - started)
                assert got == k, (got, k)
            out.append(f"incremental pull (1-100 changes): p50 {pct(lats, .5):.1f} ms  p95 {pct(lats, .95):.1f} ms")
            # Bytes on the wire per entry.
            one = Device(owner, "size-probe")
            for size in (1, 20):
                _, zipped, raw = one.body([entry(owner, rng) for _ in range(size)])
                out.append(f"push body per entry, batch {size:>2}: {raw / size:6.0f} B plain, {len(zipped) / size:6.0f} B gzip")
        raw_rate = await raw_insert_rate(url, people, world.institution_id, 20000 if quick else 60000, 200, rng)
        out.append(f"raw asyncpg INSERT ... SELECT FROM unnest (200-row batches, 10 connections): {raw_rate:8.0f} rows/s")
        out.append(f"push with 200-entry batches = {rates[200] / raw_rate:.1%} of the raw insert rate (target >= 25%)")
    finally:
        server.stop()
    print("\n".join(out))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url")
    p.add_argument("--data-dir", type=Path, default=Path("var/bench"))
    p.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    a = p.parse_args()
    keep: list[Any] = []
    url = a.database_url or fresh_embedded_database(a.data_dir, keep, name="fieldlog_bench")
    asyncio.run(bench(url, a.data_dir / "run", a.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
