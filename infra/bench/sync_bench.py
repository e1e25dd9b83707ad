"""Sync benchmark against real server processes on the embedded PostgreSQL (or --database-url).

The server runs as production does (infra/compose.yaml: API replicas of one `fieldlog serve` process each,
behind nginx's round-robin upstream): `--nodes` processes (default 2, one per core), each request sent to the
next node in turn. Every figure is printed with the CPU it cost per request in the server's processes and in
PostgreSQL (embedded database only), which does not move with the machine's other load as wall time does.

    .venv/bin/python infra/bench/sync_bench.py

Prints: push throughput (entries/s) with batches of 1, 20 and 200 from 50 concurrent devices pushing
back-to-back (saturation: latency there is queueing, 50 / throughput), p50/p95 push latency, the latency of
20-entry pushes from the same 50 devices each pushing once a second (and twice), first-sync time of a phone holding 5,000 records, incremental pull latency (<= 100 changes),
50 clients pulling at once (each fetching the <= 100 changes made for it since its last pull: p50/p95, req/s)
next to the one-client figure, bytes on the wire per entry with and without gzip, and two raw asyncpg
baselines measured in the same run, with the push's ratio to each: the entry row alone, and the four rows a
push writes per entry (entries, entry_versions, sync_feed, sync_mutations), set-based in one statement per batch.
Request bodies are built before the clock starts, so the figures are the server's, not this script's.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import random
import sys
import time
import uuid
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import msgspec
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cpu_meter import CpuMeter, postmaster_pid  # noqa: E402  (infra/bench is on the path: this script's folder)

from backend.db.engine import plain_url  # noqa: E402
from sync.chaos.checks import fresh_embedded_database  # noqa: E402
from sync.chaos.world import CHAOS_PASSWORD, Person, ServerProcess, make_people  # noqa: E402
from sync.server.protocol import PROTOCOL  # noqa: E402

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

    def body(self, entries: list[dict[str, Any]], *, as_reference_client: bool = False) -> tuple[str, bytes, int]:
        """A push as a phone sends it: the record id once (`record_id`), no null or default keys, UTF-8 text.

        `as_reference_client`: the shape sync/client_push.py sends today (the id again inside `data`,
        `base_version: null`, app and schema version, non-ASCII text as \\u escapes), for comparison.
        """
        muts = []
        now = datetime.now(UTC).isoformat()
        for e in entries:
            self.seq += 1
            data = dict(e) if as_reference_client else {k: v for k, v in e.items() if k != "id"}
            m = {"seq": self.seq, "kind": "create", "record_id": e["id"], "data": data, "queued_at": now}
            if as_reference_client:
                m["base_version"] = None
            muts.append(m)
        rid = uuid.uuid4().hex
        body: dict[str, Any] = {"request_id": rid, "device_id": self.device_id, "device_time": now,
                                "pending_count": len(muts), "mutations": muts}
        if as_reference_client:
            body.update(app_version="chaos", schema_version=1, oldest_pending_at=now)
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=as_reference_client).encode()
        return rid, gzip.compress(raw, 6, mtime=0), len(raw)


class Wire:
    """A minimal HTTP/1.1 keep-alive client for the measured requests, spreading them over the nodes.

    httpx spends 1-2 ms of CPU per request, and this script shares the 2 cores with the server: with it, the
    batch-1 phase measured the load generator. Requests here are bytes built up front, replies are read by
    Content-Length (or chunks) and inflated with zlib only when gzip-encoded. Each request goes to the next
    node in turn, over a keep-alive connection to that node: what infra/nginx.conf's upstream does.
    """

    def __init__(self, host: str, ports: list[int]) -> None:
        self.host, self.ports, self.turn = host, ports, 0
        self.pools: list[list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]]] = [[] for _ in ports]

    async def request(self, method: str, target: str, headers: dict[str, str], body: bytes = b""
                      ) -> tuple[int, bytes, int]:
        """(status, decoded body, bytes of the reply body on the wire)."""
        node = self.turn % len(self.ports)
        self.turn += 1
        idle = self.pools[node]
        # uvicorn closes keep-alive connections idle for 5 s; older ones are not reused.
        while idle and time.monotonic() - idle[-1][2] > 3:
            idle.pop()[1].close()
        while idle and time.monotonic() - idle[0][2] > 3:
            idle.pop(0)[1].close()
        reader, writer, _ = idle.pop() if idle else (*await asyncio.open_connection(self.host, self.ports[node]), 0)
        head = f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(head.encode("latin-1") + b"\r\n" + body)
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        length, chunked, gzipped = 0, False, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            length = int(value) if name == "content-length" else length
            chunked = chunked or (name == "transfer-encoding" and "chunked" in value)
            gzipped = gzipped or (name == "content-encoding" and value == "gzip")
        if chunked:
            parts = []
            while (size := int((await reader.readline()).split(b";")[0], 16)) > 0:
                parts.append(await reader.readexactly(size))
                await reader.readline()
            await reader.readline()
            raw = b"".join(parts)
        else:
            raw = await reader.readexactly(length)
        idle.append((reader, writer, time.monotonic()))
        return status, zlib.decompress(raw, 31) if gzipped else raw, len(raw)

    def close(self) -> None:
        for idle in self.pools:
            for _, writer, _ in idle:
                writer.close()


async def login(http: httpx.AsyncClient, person: Person, device_id: str) -> Device:
    device = Device(person, device_id)
    r = await http.post("/api/v1/auth/login", json={"username": person.username, "password": CHAOS_PASSWORD,
                                                     "device_id": device_id})
    r.raise_for_status()
    device.token = r.json()["access_token"]
    return device


async def push(http: Wire, device: Device, rid: str, body: bytes) -> float:
    return (await push_reply(http, device, rid, body))[0]


async def push_reply(http: Wire, device: Device, rid: str, body: bytes) -> tuple[float, int]:
    """(seconds, reply bytes on the wire) of one push; the reply is checked as a phone checks it."""
    started = time.perf_counter()
    status, reply, wire = await http.request("POST", "/api/v1/sync/push", {
        "Authorization": f"Bearer {device.token}", "Content-Type": "application/json", "Content-Encoding": "gzip",
        "Accept-Encoding": "gzip", "X-Request-Id": rid}, body)
    elapsed = time.perf_counter() - started
    answer = msgspec.json.decode(reply)  # the load generator shares the cores: its parsing kept cheap
    if status != 200 or answer.get("protocol") != PROTOCOL or answer.get("request_id") != rid:
        raise RuntimeError(f"push failed: {status} {reply[:300]!r}")
    bad = [x for x in answer["results"] if x["outcome"] != "applied"]
    if bad:
        raise RuntimeError(f"push answered {bad[:2]}")
    return elapsed, wire


async def push_phase(http: Wire, devices: list[Device], batch: int, requests: int,
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


async def paced_phase(http: Wire, devices: list[Device], batch: int, interval: float, rounds: int,
                      rng: random.Random) -> tuple[float, list[float]]:
    """Latency below saturation: every device pushes `batch` entries every `interval` seconds (open loop, random
    phase), as phones coming online do, instead of back-to-back. Returns (offered entries/s, latencies)."""
    plans = [[(device.body([entry(device.person, rng) for _ in range(batch)])) for _ in range(rounds)]
             for device in devices]
    latencies: list[float] = []

    async def run(device: Device, plan: list[tuple[str, bytes, int]], offset: float) -> None:
        start = time.perf_counter() + offset
        for k, (rid, body, _) in enumerate(plan):
            await asyncio.sleep(max(start + k * interval - time.perf_counter(), 0))
            latencies.append(await push(http, device, rid, body))

    await asyncio.gather(*(run(d, p, rng.uniform(0, interval)) for d, p in zip(devices, plans, strict=True)))
    return len(devices) * batch / interval, latencies


async def pull_all(http: Wire, token: str, cursor: str | None, limit: int = 500) -> tuple[int, int, str]:
    """Pull until has_more is false; returns (changes, wire bytes, cursor)."""
    changes = wire = 0
    while True:
        query = urlencode({"limit": str(limit), **({"cursor": cursor} if cursor else {})})
        rid = uuid.uuid4().hex
        status, reply, size = await http.request("GET", f"/api/v1/sync/pull?{query}", {
            "Authorization": f"Bearer {token}", "X-Request-Id": rid, "Accept-Encoding": "gzip"})
        page = msgspec.json.decode(reply)
        if status != 200 or page.get("request_id") != rid:
            raise RuntimeError(f"pull failed: {status} {reply[:300]!r}")
        changes += len(page["changes"])
        wire += size
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


async def raw_four_row_rate(url: str, people: list[Person], rows: int, batch: int, rng: random.Random) -> float:
    """The same rows a push writes per entry, through asyncpg from 10 connections, one statement per batch:
    the entry, its first version, its feed row and the stored answer of its mutation."""
    pool = await asyncpg.create_pool(plain_url(url), min_size=10, max_size=10)
    owner = people[0]
    sql = """
    WITH ins AS (
        INSERT INTO entries (id, expert_id, deployment_id, institution_id, work_date, activity_type, fields, note,
                             status, version, content_hash, device_id, device_time, created_at, updated_at)
        SELECT i, $2, $3, d.recipient_id, w, 'clinic', CAST(f AS jsonb), n, 'draft', 1, h, $1, now(), now(), now()
        FROM unnest($4::uuid[], $5::date[], $6::text[], $7::text[], $8::text[]) AS t(i, w, f, n, h)
        JOIN deployments d ON d.id = $3
        ON CONFLICT DO NOTHING RETURNING id
    ), versions AS (
        INSERT INTO entry_versions (entry_id, version, snapshot, changed_by, change, changed_at)
        SELECT t.i, 1, CAST(t.s AS jsonb), $2, 'create', now() FROM unnest($4::uuid[], $9::text[]) AS t(i, s)
        JOIN ins ON ins.id = t.i
    ), feed AS (
        INSERT INTO sync_feed (user_id, kind, record_id, xid, op, changed_at)
        SELECT $2, 'entry', ins.id::text, pg_current_xact_id()::text::bigint, 'upsert', now() FROM ins
        ON CONFLICT (user_id, kind, record_id) DO UPDATE SET xid = EXCLUDED.xid, op = EXCLUDED.op,
                                                             changed_at = EXCLUDED.changed_at
    )
    INSERT INTO sync_mutations (device_id, seq, user_id, request_id, kind, record_id, outcome, result, payload,
                                quarantined, created_at)
    SELECT $1, s, $2, 'raw-bench', 'create', i, 'applied', CAST(r AS jsonb), NULL, false, now()
    FROM unnest($4::uuid[], $10::bigint[], $11::text[]) AS t(i, s, r)
    """
    devices = [f"raw4-{k}-{uuid.uuid4().hex[:8]}" for k in range(10)]
    async with pool.acquire() as conn:
        await conn.executemany("INSERT INTO devices (id, user_id, registered_at) VALUES ($1, $2, now())",
                               [(d, owner.user_id) for d in devices])
    queue: list[tuple[Any, ...]] = []
    for b in range(rows // batch):
        device = devices[b % len(devices)]
        es = [entry(owner, rng) for _ in range(batch)]
        ids = [uuid.uuid4() for _ in es]
        seqs = [b * batch + k + 1 for k in range(batch)]
        queue.append((device, owner.user_id, owner.deployment_id, ids, [date.fromisoformat(e["work_date"]) for e in es],
                      [json.dumps(e["fields"]) for e in es], [e["note"] for e in es],
                      [hashlib.sha256(json.dumps(e).encode()).hexdigest() for e in es],
                      [json.dumps(e, ensure_ascii=False) for e in es], seqs,
                      [json.dumps({"seq": s, "record_id": str(i), "outcome": "applied", "version": 1})
                       for s, i in zip(seqs, ids, strict=True)]))

    async def worker() -> None:
        async with pool.acquire() as conn:
            while queue:
                await conn.execute(sql, *queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(10)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return (rows // batch) * batch / elapsed


async def many_pulling(http: Wire, devices: list[Device], rounds: int, rng: random.Random, meter: CpuMeter
                       ) -> tuple[list[float], int, float]:
    """Every device pulls at once, each its own <= 100 new changes; returns (latencies, requests, seconds)."""
    cursors = {}
    for device in devices:  # first syncs, not measured
        _, _, cursors[device.device_id] = await pull_all(http, device.token, None)
    latencies: list[float] = []
    requests, busy = 0, 0.0
    for _ in range(rounds):
        for device in devices:  # the changes each will fetch, written before the clock starts
            rid, body, _ = device.body([entry(device.person, rng) for _ in range(rng.randint(1, 100))])
            await push(http, device, rid, body)

        async def one(device: Device) -> None:
            nonlocal requests
            started = time.perf_counter()
            got, _, cursors[device.device_id] = await pull_all(http, device.token, cursors[device.device_id])
            latencies.append(time.perf_counter() - started)
            requests += 1
            assert 1 <= got <= 100, got

        with meter:  # its own reading of /proc stays outside the timed part
            started = time.perf_counter()
            await asyncio.gather(*(one(d) for d in devices))
            busy += time.perf_counter() - started
    return latencies, requests, busy


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def bench(url: str, work: Path, quick: bool, nodes: int, pool: int, postgres_pid: int | None) -> None:
    rng = random.Random(42)
    world = await make_people(url, DEVICES + 1)
    people = world.experts
    servers = [ServerProcess(url, work / f"node{n}", extra_env={"FIELDLOG_DB_POOL_SIZE": str(pool)})
               for n in range(nodes)]
    await asyncio.gather(*(s.start() for s in servers))
    out: list[str] = [f"server: {nodes} node(s), each one process (uvicorn, uvloop, httptools; DB pool {pool} +{pool} "
                      f"overflow), requests spread over them in turn as infra/nginx.conf does; {os.cpu_count()} CPUs; "
                      f"load average at start {load_average()}"]

    def meter() -> CpuMeter:
        return CpuMeter([s.proc.pid for s in servers if s.proc], postgres_pid)

    try:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        http = Wire("127.0.0.1", [s.port for s in servers])
        async with httpx.AsyncClient(base_url=servers[0].base_url, timeout=120, limits=limits) as signer:
            devices = await asyncio.gather(*(login(signer, p, f"bench-{i:03d}-{uuid.uuid4().hex[:8]}")
                                             for i, p in enumerate(people[:DEVICES])))
            await push_phase(http, devices[:10], 5, 2, rng)  # warm-up: connections, caches, JIT-free paths
            rates: dict[int, float] = {}
            for batch, requests in ((1, 10 if quick else 40), (20, 4 if quick else 10), (200, 2 if quick else 4)):
                with meter() as used:
                    rate, lat = await push_phase(http, list(devices), batch, requests, rng)
                rates[batch] = rate
                out.append(f"push  batch {batch:>3} x {DEVICES} devices: {rate:8.0f} entries/s   "
                           f"latency p50 {pct(lat, .5):6.1f} ms  p95 {pct(lat, .95):6.1f} ms  ({len(lat)} pushes; "
                           f"{used.per(len(lat))})")
            for interval in (1.0, 0.5):
                offered, lat = await paced_phase(http, list(devices), 20, interval, 3 if quick else 8, rng)
                out.append(f"push  batch  20 x {DEVICES} devices, each every {interval:.1f} s ({offered:.0f} entries/s "
                           f"offered): latency p50 {pct(lat, .5):6.1f} ms  p95 {pct(lat, .95):6.1f} ms  "
                           f"({len(lat)} pushes)")
            # First sync: one expert with 5,000 records, a new phone.
            owner = people[DEVICES]
            writer = await login(signer, owner, f"bench-writer-{uuid.uuid4().hex[:8]}")
            for _ in range(10):
                rid, body, _ = writer.body([entry(owner, rng) for _ in range(500)])
                await push(http, writer, rid, body)
            reader = await login(signer, owner, f"bench-reader-{uuid.uuid4().hex[:8]}")
            with meter() as used:  # the meter's own reading of /proc stays outside the timed part
                started = time.perf_counter()
                n, wire, cursor = await pull_all(http, reader.token, None)
                first = time.perf_counter() - started
            out.append(f"first sync of a phone with 5,000 records: {first:.2f} s ({n} changes, "
                       f"{wire / 1e6:.2f} MB on the wire gzipped, {wire / max(n, 1):.0f} B/change; target < 0.6 s; "
                       f"CPU in all: server {used.server * 1000:.0f} ms"
                       + (f", PostgreSQL {used.postgres * 1000:.0f} ms)" if postgres_pid else ")"))
            # Incremental pulls of <= 100 changes each.
            lats: list[float] = []
            used = meter()
            for _ in range(15 if quick else 50):
                k = rng.randint(1, 100)
                rid, body, _ = writer.body([entry(owner, rng) for _ in range(k)])
                await push(http, writer, rid, body)
                with used:
                    started = time.perf_counter()
                    got, _, cursor = await pull_all(http, reader.token, cursor)
                    lats.append(time.perf_counter() - started)
                assert got == k, (got, k)
            out.append(f"incremental pull (1-100 changes), 1 client: p50 {pct(lats, .5):.1f} ms  "
                       f"p95 {pct(lats, .95):.1f} ms  ({len(lats)} pulls; target p95 < 10 ms; {used.per(len(lats))})")
            used = meter()
            lats, pulls, busy = await many_pulling(http, list(devices), 3 if quick else 8, rng, used)
            out.append(f"incremental pull (1-100 changes), {DEVICES} clients at once: p50 {pct(lats, .5):.1f} ms  "
                       f"p95 {pct(lats, .95):.1f} ms  {pulls / busy:.0f} req/s  ({pulls} pulls; target p95 < 250 ms; "
                       f"{used.per(pulls)})")
            # Bytes on the wire per entry: request bodies of the sizes a phone sends, and the real replies.
            for size in (1, 5, 20):
                entries = [entry(owner, rng) for _ in range(size)]
                rid, zipped, raw = writer.body(entries)
                _, reply = await push_reply(http, writer, rid, zipped)
                _, ref_zipped, ref_raw = Device(owner, "size-probe").body(entries, as_reference_client=True)
                out.append(f"push per entry, batch {size:>2}: body {raw / size:5.0f} B plain, {len(zipped) / size:4.0f} B "
                           f"gzip; reply {reply / size:4.0f} B; body+reply {(len(zipped) + reply) / size:4.0f} B  "
                           f"(reference client's body today: {ref_raw / size:.0f} B plain, "
                           f"{len(ref_zipped) / size:.0f} B gzip)")
        raw_rate = await raw_insert_rate(url, people, world.institution_id, 20000 if quick else 60000, 200, rng)
        out.append(f"raw asyncpg INSERT ... SELECT FROM unnest (200-row batches, 10 connections): {raw_rate:8.0f} rows/s")
        out.append(f"push with 200-entry batches = {rates[200] / raw_rate:.1%} of the raw entry-row rate (target >= 25%)")
        four = await raw_four_row_rate(url, people, 20000 if quick else 60000, 200, rng)
        out.append(f"raw asyncpg, the push's four rows per entry (entries, entry_versions, sync_feed, sync_mutations; "
                   f"200 per statement, 10 connections): {four:8.0f} entries/s")
        out.append(f"push with 200-entry batches = {rates[200] / four:.1%} of the raw four-row rate (target >= 50%)")
    finally:
        for s in servers:
            s.stop()
    out.append(f"load average at end: {load_average()}")
    print("\n".join(out))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url")
    p.add_argument("--data-dir", type=Path, default=Path("var/bench"))
    p.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    p.add_argument("--nodes", type=int, default=2,
                   help="server processes, requests spread over them in turn (default 2: one per core, as "
                        "infra/compose.yaml runs two API replicas behind nginx)")
    p.add_argument("--pool", type=int, default=25,
                   help="database pool size per node, max_overflow the same (default 25: infra/production.env.example)")
    a = p.parse_args()
    keep: list[Any] = []
    url = a.database_url or fresh_embedded_database(a.data_dir, keep, name="fieldlog_bench")
    postgres = postmaster_pid(keep[0].pgdata) if keep else None  # only the embedded one is ours to measure
    uvloop.run(bench(url, a.data_dir / "run", a.quick, a.nodes, a.pool, postgres))
    return 0


if __name__ == "__main__":
    sys.exit(main())
