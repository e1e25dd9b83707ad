"""Promotion round benchmark: one hospital's N experts -> one ZIP of signed PDF + XLSX each and an index sheet.

Usage (embedded PostgreSQL in FIELDLOG_DATA_DIR, or DATABASE_URL=postgresql://...):

    FIELDLOG_DATA_DIR=/tmp/fl-round-bench .venv/bin/python infra/bench/round_bench.py --experts 200 --entries 150

Builds a fresh home hospital whose N experts are deployed at one county hospital (the chaos run's
make_people), writes `--entries` approved entries per expert straight into the table (daily attendance,
then clinics, surgeries, lectures), and runs the round job (backend/export/round_job.py) in this process
against the configured file storage. Prints the time, the ZIP size, and the process's resident memory
sampled every 0.2 s: at the start, its peak, and by quarter of the experts done (flat = streamed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil  # noqa: E402
from benchlib import bench_database  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from backend.db.engine import make_engine, make_sessionmaker  # noqa: E402
from backend.export import round_job  # noqa: E402
from backend.models import Entry, PromotionRound, User  # noqa: E402
from backend.storage import build_storage  # noqa: E402
from sync.chaos.world import make_people  # noqa: E402

KINDS: list[tuple[str, dict[str, Any]]] = [
    ("clinic", {"session": "am", "patients_first_visit": 9, "patients_follow_up": 4}),
    ("surgery", {"procedure_name": "腹腔镜胆囊切除术", "grade": "grade_3", "role": "primary"}),
    ("lecture", {"title": "规范化培训", "hours": 1.5, "audience_count": 35}),
]


async def seed(url: str, sessions: Any, experts: int, entries: int) -> tuple[uuid.UUID, uuid.UUID, date, date]:
    people = await make_people(url, experts)
    today = date.today()
    first = today - timedelta(days=119)
    now = datetime.now(UTC)
    async with sessions() as s:
        home = await s.scalar(select(User.home_institution_id).where(User.id == people.experts[0].user_id))
        for person in people.experts:
            rows = []
            for i in range(entries):
                kind, fields = ("attendance", {"status": "present"}) if i < 110 else KINDS[i % len(KINDS)]
                rows.append({"id": uuid.uuid4(), "expert_id": person.user_id, "deployment_id": person.deployment_id,
                             "institution_id": people.institution_id, "work_date": first + timedelta(days=i % 110),
                             "activity_type": kind, "fields": fields, "status": "approved", "version": 2,
                             "content_hash": "0" * 64, "submitted_at": now, "reviewed_at": now,
                             "reviewed_by": people.supervisor_id})
            await s.execute(insert(Entry), rows)
        await s.commit()
    return home, people.supervisor_id, first, today


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experts", type=int, default=200)
    parser.add_argument("--entries", type=int, default=150, help="approved entries per expert")
    args = parser.parse_args()
    settings, url, _keep = await bench_database()
    engine = make_engine(url, pool_size=4)
    sessions = make_sessionmaker(engine)
    print(f"seeding {args.experts} experts x {args.entries} entries ...", flush=True)
    home, requester, first, last = await seed(url, sessions, args.experts, args.entries)
    async with sessions() as s, s.begin():
        row = PromotionRound(id=uuid.uuid4(), institution_id=home, requested_by=requester, date_from=first,
                             date_to=last, status="queued", progress=0)
        s.add(row)
    storage = await asyncio.to_thread(build_storage, settings)
    await storage.start()
    process = psutil.Process()
    samples: list[tuple[float, int, int]] = []  # (seconds, rss, experts done)
    done = 0
    stop = asyncio.Event()

    next_report = 1

    async def sample() -> None:
        nonlocal done, next_report
        while not stop.is_set():
            async with sessions() as s:
                done = (await s.scalar(select(PromotionRound.experts_done).where(PromotionRound.id == row.id))) or 0
            samples.append((time.perf_counter() - started, process.memory_info().rss, done))
            if done >= next_report:
                print(f"  {samples[-1][0]:7.1f} s  {done:>5} experts done  RSS {samples[-1][1] / 2**20:.0f} MiB", flush=True)
                next_report = done + max(args.experts // 10, 1)
            await asyncio.sleep(0.2)

    started = time.perf_counter()
    sampler = asyncio.create_task(sample())
    await round_job.build_round(sessions, settings, storage, row.id)
    elapsed = time.perf_counter() - started
    stop.set()
    await sampler
    async with sessions() as s:
        final = await s.get(PromotionRound, row.id)
    assert final is not None
    mib = 1024 * 1024
    print(f"round of {final.experts_total} experts: {final.status} in {elapsed:.1f} s "
          f"({elapsed / max(final.experts_total, 1):.2f} s/expert), ZIP {(final.size or 0) / mib:.1f} MiB")
    print(f"  RSS at start {samples[0][1] / mib:.0f} MiB, peak {max(s[1] for s in samples) / mib:.0f} MiB")
    for quarter in (1, 2, 3, 4):
        target = final.experts_total * quarter // 4
        at = next((s for s in samples if s[2] >= target), samples[-1])
        print(f"  RSS with {at[2]:>4} experts done: {at[1] / mib:.0f} MiB")
    await storage.close()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
