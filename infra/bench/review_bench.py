"""Review benchmark: one POST /api/v1/review/decisions of N approvals, set-based against one by one.

Usage (embedded PostgreSQL in FIELDLOG_DATA_DIR, or DATABASE_URL=postgresql://...):

    FIELDLOG_DATA_DIR=/tmp/fl-review-bench .venv/bin/python infra/bench/review_bench.py --entries 500

Each round builds two equal, fresh hospitals (a supervisor, two experts, N submitted entries of several types
written straight into the table), then approves all N entries of one hospital in one request with the
per-decision path and of the other with the set-based path, through the whole HTTP app in-process (httpx's
ASGI transport: middleware, token check, JSON, commit and audit sealing). The order of the two alternates
between rounds. A warm-up request of a few decisions on each path comes first. At the end the roll-ups are
checked against the entries (`fieldlog stats check`) and the audit trail is verified.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchlib import bench_database, in_process_client  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.audit.verify import verify_trail  # noqa: E402
from backend.db.engine import make_engine, make_sessionmaker  # noqa: E402
from backend.models import Entry, Trainee  # noqa: E402
from backend.review import decisions  # noqa: E402
from backend.stats import recompute  # noqa: E402
from sync.chaos.world import CHAOS_PASSWORD, make_people  # noqa: E402


async def make_hospital(url: str, sessions: Any, n: int) -> tuple[str, list[uuid.UUID]]:
    """A recipient hospital with a supervisor and two experts holding `n` submitted entries; (login, entry ids)."""
    people = await make_people(url, 2)  # the chaos run's small world: agreement, deployments, roles
    experts = people.experts
    today = date.today()
    now = datetime.now(UTC)
    async with sessions() as s:
        trainee = Trainee(id=uuid.uuid4(), institution_id=people.institution_id, name="李医生",
                          created_by=experts[0].user_id)
        s.add(trainee)
        await s.flush()
        kinds: list[tuple[str, dict[str, Any], int | None]] = [
            ("clinic", {"session": "am", "patients_first_visit": 9, "patients_follow_up": 4}, None),
            ("lecture", {"title": "规范化培训", "hours": 1.5, "audience_count": 35}, 90),
            ("surgery", {"procedure_name": "腹腔镜胆囊切除术", "grade": "grade_3", "role": "primary"}, 120),
            ("mentoring", {"trainee_id": str(trainee.id), "hours": 2}, None),
            ("teaching_round", {"attendees": 14, "cases": 3}, None),
            ("free_clinic", {"place": "乡镇卫生院", "people_served": 60}, None),
        ]
        rows = []
        for i in range(n):
            k = i % 2
            if i < 200:  # attendance: one per expert and day
                kind, fields, minutes = "attendance", {"status": ("present", "present", "travel")[i % 3]}, None
            else:
                kind, fields, minutes = kinds[i % len(kinds)]
            # Dated inside the deployments, which make_people starts 120 days ago.
            rows.append({"id": uuid.uuid4(), "expert_id": experts[k].user_id, "deployment_id": experts[k].deployment_id,
                         "institution_id": people.institution_id, "work_date": today - timedelta(days=1 + (i // 2) % 110),
                         "activity_type": kind, "fields": fields, "duration_minutes": minutes, "status": "submitted",
                         "version": 2, "content_hash": "0" * 64, "submitted_at": now})
        if rows:
            await s.execute(insert(Entry), rows)
        await s.commit()
    return people.supervisor, [r["id"] for r in rows]


async def approve_all(client: Any, username: str, ids: list[uuid.UUID], *, set_based: bool) -> float:
    login = await client.post("/api/v1/auth/login", json={"username": username, "password": CHAOS_PASSWORD,
                                                           "device_id": f"bench-{username}"[:60]})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    body = {"decisions": [{"entry_id": str(i), "version": 2, "action": "approve"} for i in ids]}
    decisions.SET_BASED = set_based
    started = time.perf_counter()
    r = await client.post("/api/v1/review/decisions", json=body, headers=headers)
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text
    applied = r.json()["applied"]
    assert applied == len(ids), f"{applied} of {len(ids)} applied"
    return elapsed


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500, help="decisions in the timed request (at most 500)")
    parser.add_argument("--rounds", type=int, default=1, help="timed requests per path, each on fresh data")
    args = parser.parse_args()

    settings, url, _keep = await bench_database()
    engine = make_engine(url, pool_size=2)
    sessions = make_sessionmaker(engine)
    timings: dict[bool, list[float]] = {False: [], True: []}
    app = create_app(settings, url)
    async with in_process_client(app) as client:
        for set_based in (False, True):  # warm-up: connections, prepared statements, code paths
            user, ids = await make_hospital(url, sessions, 10)
            await approve_all(client, user, ids, set_based=set_based)
        for round_no in range(args.rounds):
            order = (False, True) if round_no % 2 == 0 else (True, False)
            for set_based in order:
                user, ids = await make_hospital(url, sessions, args.entries)
                took = await approve_all(client, user, ids, set_based=set_based)
                timings[set_based].append(took)
                print(f"round {round_no + 1}: {'set-based ' if set_based else 'one by one'} "
                      f"{len(ids)} approvals in {took:.3f} s", flush=True)
    decisions.SET_BASED = True
    async with sessions() as s:
        check = await recompute.check(s)
    async with sessions() as s:
        trail = await verify_trail(s)
    await engine.dispose()

    slow, fast = statistics.median(timings[False]), statistics.median(timings[True])
    print(f"\none request of {args.entries} approvals (median of {args.rounds}): one by one {slow:.3f} s, "
          f"set-based {fast:.3f} s, ratio {slow / fast:.1f}x")
    print(f"stats check: {check.differences} differences over {sum(check.rows.values())} roll-up rows "
          f"({', '.join(f'{t} {n}' for t, n in check.rows.items())})")
    print(f"audit trail: {'ok' if trail.ok else 'BROKEN'}")
    return 0 if check.ok and trail.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
