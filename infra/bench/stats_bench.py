"""Statistics benchmark: p50/p95 of each stats endpoint at scale, against the same figures from raw entries.

Usage (embedded PostgreSQL in FIELDLOG_DATA_DIR, seeded first when it holds no synthetic data):

    FIELDLOG_DATA_DIR=/tmp/fl-bench .venv/bin/python infra/bench/stats_bench.py --experts 2000 --years 3

or against a server: DATABASE_URL=postgresql://... (same flags). Each endpoint is called through the whole
HTTP app in-process (httpx's ASGI transport on the app's own event loop, after its startup: middleware,
token check, scope filter, JSON encoding; Litestar's test client would add a thread hop per request),
one request at a time. "raw" is the same figure computed by SQL aggregates over the entries (the
indexed rows of that expert, hospital or agreement: what the endpoint would do without roll-ups).
"roll-up SQL" is the database part of the endpoint alone: the same statements the service runs on the
roll-ups, so raw / roll-up SQL compares the two ways of getting the numbers out of PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg  # noqa: E402
from benchlib import bench_database, in_process_client  # noqa: E402
from sqlalchemy import text as sa_text  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.db.engine import (  # noqa: E402
    make_engine,
    make_sessionmaker,
    plain_url,  # noqa: E402
)
from backend.stats import expert as expert_module  # noqa: E402
from backend.stats import hospital as hospital_module  # noqa: E402
from backend.stats.recompute import RECOMPUTE_METRICS, RECOMPUTE_TRAINEES  # noqa: E402
from backend.synthetic import SYNTHETIC_PASSWORD, seed_synthetic  # noqa: E402

_COUNTED = "e.deleted_at IS NULL"
RAW_EXPERT = [
    RECOMPUTE_METRICS.replace(_COUNTED, f"{_COUNTED} AND e.expert_id = $1 AND e.work_date BETWEEN $2 AND $3"),
    RECOMPUTE_TRAINEES.replace(_COUNTED, f"{_COUNTED} AND e.expert_id = $1 AND e.work_date BETWEEN $2 AND $3"),
    # Service time needs every approved attendance day of the expert, over all time.
    "SELECT work_date, fields->>'status' FROM entries WHERE expert_id = $1 AND activity_type = 'attendance' "
    "AND status = 'approved' AND superseded_by IS NULL AND deleted_at IS NULL AND $2::date <= $3::date",
]
RAW_RECIPIENT = [
    RECOMPUTE_METRICS.replace(_COUNTED, f"{_COUNTED} AND e.institution_id = $1 AND e.work_date BETWEEN $2 AND $3"),
    RECOMPUTE_TRAINEES.replace(_COUNTED, f"{_COUNTED} AND e.institution_id = $1 AND e.work_date BETWEEN $2 AND $3"),
]
RAW_AGREEMENT = [
    q.replace(_COUNTED, f"{_COUNTED} AND e.deployment_id IN (SELECT id FROM deployments WHERE agreement_id = $1) "
                        "AND e.work_date BETWEEN $2 AND $3")
    for q in (RECOMPUTE_METRICS, RECOMPUTE_TRAINEES)
]
RAW_SUPPORTING = [
    "SELECT e.deployment_id, count(*) FROM entries e JOIN users u ON u.id = e.expert_id "
    "WHERE u.home_institution_id = $1 AND e.work_date BETWEEN $2 AND $3 AND e.activity_type = 'attendance' "
    "AND e.fields->>'status' = 'present' AND e.status = 'approved' AND e.superseded_by IS NULL "
    "AND e.deleted_at IS NULL GROUP BY 1"
]


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def timed(n: int, call: Callable[[int], Awaitable[None]]) -> list[float]:
    for i in range(min(5, n)):  # warm-up: plans, caches, connections
        await call(i)
    out: list[float] = []
    for i in range(n):
        t = time.perf_counter()
        await call(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experts", type=int, default=2000, help="seed this many experts if none are seeded")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--raw-requests", type=int, default=40, help="timed raw computations per figure")
    args = parser.parse_args()

    settings, url, _keep = await bench_database()
    conn = await asyncpg.connect(plain_url(url))
    if not await conn.fetchval("SELECT count(*) FROM users WHERE username LIKE 'syn%admin'"):
        print(f"seeding {args.experts} experts x {args.years} years ...", flush=True)
        await seed_synthetic(url, experts=args.experts, years=args.years, today=date.today())
    admin = await conn.fetchval("SELECT username FROM users WHERE username LIKE 'syn%admin' LIMIT 1")
    scale = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM entries) AS entries, (SELECT count(*) FROM users u JOIN role_grants g "
        "ON g.user_id = u.id AND g.role = 'expert') AS experts, (SELECT count(*) FROM deployments) AS deployments, "
        "(SELECT count(*) FROM stat_rollups) AS rollups")
    print(f"scale: {scale['entries']} entries, {scale['experts']} experts, {scale['deployments']} deployments, "
          f"{scale['rollups']} roll-up rows")
    rng = random.Random(7)
    experts = [r[0] for r in await conn.fetch("SELECT DISTINCT expert_id FROM deployments")]
    recipients = [r[0] for r in await conn.fetch("SELECT id FROM institutions WHERE kind <> 'supporting_hospital'")]
    supporting = [r[0] for r in await conn.fetch("SELECT id FROM institutions WHERE kind = 'supporting_hospital'")]
    agreements = [r[0] for r in await conn.fetch("SELECT id FROM agreements")]
    today = date.today()
    year = today.year - 1  # a complete year: the heaviest hospital-year figure
    first, last = date(year, 1, 1), date(year, 12, 31)

    engine = make_engine(url, pool_size=2)
    sessions = make_sessionmaker(engine)

    def rollup_sql(kind: str, ids: list[Any]) -> Callable[[int], Awaitable[None]]:
        picks = [rng.choice(ids) for _ in range(args.requests + 5)]
        m0, m1 = date(year, 1, 1), date(year, 12, 1)

        async def call(i: int) -> None:
            async with sessions() as session:
                if kind == "expert":
                    deps = [r[0] for r in await session.execute(
                        sa_text("SELECT id FROM deployments WHERE expert_id = :e"), {"e": picks[i]})]
                    p = {"e": picks[i], "m0": m0, "m1": m1, "deps": deps}
                    await session.execute(expert_module._METRICS_SQL, p)
                    await session.execute(expert_module._TRAINEES_SQL, p)
                    await session.execute(expert_module._DAYS_SQL, {"e": picks[i], "deps": deps})
                    await session.execute(expert_module._PENDING_SQL, {"e": picks[i], "d0": first, "d1": last})
                    return
                column = {"recipient": "recipient_id", "agreement": "agreement_id"}.get(kind)
                if column is None:
                    deps = [r[0] for r in await session.execute(sa_text(
                        "SELECT d.id FROM deployments d JOIN users u ON u.id = d.expert_id "
                        "WHERE u.home_institution_id = :i"), {"i": picks[i]})]
                    await session.execute(hospital_module._ON_SITE_BY_DEPLOYMENT, {"deps": deps, "m0": m0, "m1": m1})
                    return
                rows = (await session.execute(sa_text(f"SELECT id, recipient_id FROM deployments WHERE {column} = :i"),
                                              {"i": picks[i]})).all()
                if not rows:
                    return
                p = {"inst": rows[0][1], "m0": m0, "m1": m1, "d1": last, "deps": [r[0] for r in rows]}
                await session.execute(hospital_module._YEAR_METRICS, p)
                await session.execute(hospital_module._YEAR_TRAINEES, p)
                await session.execute(hospital_module._YEAR_PENDING, p)

        return call

    app = create_app(settings, url)
    rows: list[tuple[str, list[float], list[float], list[float]]] = []
    async with in_process_client(app) as client:
        login = await client.post("/api/v1/auth/login", json={"username": admin, "password": SYNTHETIC_PASSWORD,
                                                               "device_id": "bench-device-01"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        def http(path: str, ids: list[Any], params: dict[str, Any]) -> Callable[[int], Awaitable[None]]:
            picks = [rng.choice(ids) for _ in range(args.requests + 5)]

            async def call(i: int) -> None:
                r = await client.get(path.format(picks[i]), params=params, headers=headers)
                assert r.status_code == 200, r.text

            return call

        def raw(queries: list[str], ids: list[Any]) -> Callable[[int], Awaitable[None]]:
            picks = [rng.choice(ids) for _ in range(args.raw_requests + 5)]

            async def call(i: int) -> None:
                for q in queries:
                    await conn.fetch(q, picks[i], first, last)

            return call

        cases = [
            ("expert", "expert, one year", "/api/v1/stats/experts/{}", experts,
             {"from": str(first), "to": str(last)}, RAW_EXPERT),
            ("recipient", "recipient hospital-year", "/api/v1/stats/institutions/{}", recipients, {"year": year},
             RAW_RECIPIENT),
            ("agreement", "agreement-year", "/api/v1/stats/agreements/{}", agreements, {"year": year},
             RAW_AGREEMENT),
            ("supporting", "supporting hospital-year", "/api/v1/stats/institutions/{}", supporting, {"year": year},
             RAW_SUPPORTING),
        ]
        for kind, name, path, ids, params, queries in cases:
            endpoint = await timed(args.requests, http(path, ids, params))
            sql = await timed(args.requests, rollup_sql(kind, ids))
            baseline = await timed(args.raw_requests, raw(queries, ids))
            rows.append((name, endpoint, sql, baseline))
    await conn.close()
    await engine.dispose()

    head = ("figure", "p50 ms", "p95 ms", "rollup-SQL p95", "raw p50", "raw p95", "raw/endpoint p95",
            "raw/rollup-SQL p95")
    print("\n" + " | ".join(head))
    for name, endpoint, sql, baseline in rows:
        e50, e95, s95, r50, r95 = (pct(endpoint, 50), pct(endpoint, 95), pct(sql, 95), pct(baseline, 50),
                                   pct(baseline, 95))
        print(f"{name} | {e50:.1f} | {e95:.1f} | {s95:.2f} | {r50:.1f} | {r95:.1f} | {r95 / e95:.1f}x | "
              f"{r95 / s95:.1f}x")
    print(f"(endpoint: {args.requests} sequential HTTP requests each, through the whole app; raw: "
          f"{args.raw_requests} runs of SQL aggregates over the entries; targets: expert p95 < 30 ms, "
          f"hospital-year p95 < 150 ms, raw >= 20x; mean expert endpoint {statistics.mean(rows[0][1]):.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
