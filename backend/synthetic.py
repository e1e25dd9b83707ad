"""`fieldlog seed-synthetic`: a province's worth of realistic data, written in bulk (COPY and INSERT … SELECT).

People, hospitals and stays are drawn in Python (a few thousand rows, COPY); the millions of entries are
generated inside PostgreSQL from the stays with generate_series, on two connections at once, and each
chunk's roll-ups are built right after it by the same SQL the roll-up check uses. Nothing loops over
entries in Python.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg

from backend.db.engine import plain_url
from backend.stats.coverage import add_months
from backend.stats.recompute import build_statements

SYNTHETIC_PASSWORD = "synthetic-pass-42"  # noqa: S105 - the published password of throwaway synthetic accounts
_POSTS = ["clinical_expert"] * 10 + ["department_head"] * 3 + ["nursing_expert"] * 2 + [
    "technical_expert", "management_expert", "deputy_department_head", "head_nurse"]
_DEPARTMENTS = ["普外科", "心内科", "呼吸内科", "骨科", "妇产科", "儿科", "急诊科", "麻醉科", "影像科", "检验科",
                "护理部", "神经内科", "消化内科", "泌尿外科", "重症医学科"]
_STAY_MONTHS = [1, 2, 3, 3, 6, 6, 6, 6, 9, 12, 12, 12]


def _plan(experts: int, years: int, today: date, rng: random.Random, tag: str) -> dict[str, list[tuple[Any, ...]]]:
    """Institutions, agreements, targets, people, grants, stays and trainees as rows ready for COPY."""
    n_sup, n_rec = max(2, experts // 50), max(3, experts // 8)
    sup = [(uuid.uuid4(), f"SY{tag}S{i:04d}", f"合成支援医院{i}", "supporting_hospital", "tertiary_a", False)
           for i in range(n_sup)]
    rec = [(uuid.uuid4(), f"SY{tag}R{i:05d}", f"合成县医院{i}", "county_hospital" if i % 5 else "township_centre",
            "secondary_a", i % 9 == 0) for i in range(n_rec)]
    begin = today - timedelta(days=365 * years)
    agreements = [(uuid.uuid4(), f"{sup[i % n_sup][2]}—{r[2]}", "team_support", sup[i % n_sup][0], r[0], begin)
                  for i, r in enumerate(rec)]
    targets = [(a[0], y, 3 if rec[i][5] else 5, 1, 6, 3, 2, True)
               for i, a in enumerate(agreements) for y in range(begin.year, today.year + 1)]
    by_sup: dict[uuid.UUID, list[tuple[Any, ...]]] = {}
    for a in agreements:
        by_sup.setdefault(a[3], []).append(a)
    from backend.security.passwords import hash_password

    pw = hash_password(SYNTHETIC_PASSWORD)
    users: list[tuple[Any, ...]] = []
    grants: list[tuple[Any, ...]] = []
    deployments: list[tuple[Any, ...]] = []

    def person(username: str, name: str, home: uuid.UUID | None, role: str, scope: uuid.UUID | None) -> None:
        uid = uuid.uuid4()
        users.append((uid, username, name, "attending_physician", home, pw))
        grants.append((uuid.uuid4(), uid, role, scope))

    person(f"syn{tag}admin", "合成管理员", None, "admin", None)
    for i, s in enumerate(sup):
        person(f"syn{tag}hr{i}", f"人事{i}", s[0], "hr", s[0])
    for i, r in enumerate(rec):
        person(f"syn{tag}sup{i}", f"医务科{i}", r[0], "supervisor", r[0])
    for i in range(experts):
        home = sup[i % n_sup][0]
        person(f"syn{tag}e{i}", f"合成专家{i}", home, "expert", None)
        expert_id = users[-1][0]
        start = begin + timedelta(days=rng.randrange(0, 150))
        first = True
        while start <= today:
            agr = rng.choice(by_sup[home])
            months = rng.choice(_STAY_MONTHS)
            planned = add_months(start, months) - timedelta(days=1)
            actual: date | None = planned
            if rng.random() < 0.1:  # some come home early
                actual = start + timedelta(days=rng.randrange(0, (planned - start).days + 1))
            if planned > today:
                actual = None
            post = rng.choice(("president", "vice_president")) if first and i % 25 == 0 else rng.choice(_POSTS)
            status = "active" if actual is None else "ended"
            deployments.append((uuid.uuid4(), expert_id, agr[4], agr[0], rng.choice(_DEPARTMENTS), post, start,
                                planned, actual, status))
            start = (actual or planned) + timedelta(days=1 + rng.choice((0, 0, 0, 14, 30, 60, 90, 180)))
            first = False
    trainees = [(uuid.uuid4(), r[0], f"骨干{k}", users[0][0], k) for r in rec for k in range(10)]
    return {"institutions": [(*s,) for s in sup + rec], "agreements": agreements, "targets": targets,
            "users": users, "grants": grants, "deployments": deployments, "trainees": trainees}


# One row per day of each stay: attendance, then 0–4 pieces of work on a present day, each with its review
# state by age (recent work is still pending). random() is seeded per connection for repeatable data.
_ENTRIES_SQL = """
WITH days AS (
    SELECT dp.id AS dep, dp.expert_id, dp.recipient_id, g.day::date AS day,
           extract(isodow FROM g.day)::int AS dow, random() AS r
    FROM deployments dp
    CROSS JOIN LATERAL generate_series(dp.starts_on, least(coalesce(dp.actual_end, $2::date), $2::date),
                                       interval '1 day') AS g(day)
    WHERE dp.id = ANY($1::uuid[])
), marked AS (
    SELECT days.*, CASE WHEN dow <= 5 THEN (CASE WHEN r < 0.04 THEN 'leave' WHEN r < 0.08 THEN 'travel'
                                                 ELSE 'present' END)
                        ELSE (CASE WHEN r < 0.25 THEN 'present' ELSE 'off' END) END AS mark
    FROM days
), work AS (
    SELECT m.dep, m.expert_id, m.recipient_id, m.day, 'attendance' AS t,
           jsonb_build_object('status', m.mark) AS f, NULL::int AS d
    FROM marked m
    UNION ALL
    SELECT m.dep, m.expert_id, m.recipient_id, m.day, w.t, w.f, w.d
    FROM marked m
    CROSS JOIN LATERAL generate_series(1, CASE WHEN m.mark <> 'present' THEN 0 WHEN m.dow <= 5
                                               THEN (random() * 4.4)::int ELSE (random() * 1.2)::int END) AS n(i)
    -- `+ n.i * 0` ties each draw to its row, so the planner cannot evaluate it once and reuse it.
    CROSS JOIN LATERAL (SELECT random() + n.i * 0 AS p, random() AS q, (random() * 9)::int AS k) AS x
    CROSS JOIN LATERAL (SELECT
        CASE WHEN x.p < 0.30 THEN 'clinic' WHEN x.p < 0.45 THEN 'surgery' WHEN x.p < 0.57 THEN 'teaching_round'
             WHEN x.p < 0.63 THEN 'lecture' WHEN x.p < 0.71 THEN 'case_discussion' WHEN x.p < 0.73 THEN 'free_clinic'
             WHEN x.p < 0.78 THEN 'remote_consultation' WHEN x.p < 0.79 THEN 'new_technique'
             WHEN x.p < 0.89 THEN 'mentoring' WHEN x.p < 0.95 THEN 'management' ELSE 'emergency' END AS t
    ) AS tt
    CROSS JOIN LATERAL (SELECT tt.t,
        CASE tt.t
          WHEN 'clinic' THEN jsonb_build_object('session', CASE WHEN x.q < 0.5 THEN 'am' ELSE 'pm' END,
                 'patients_first_visit', 5 + (x.q * 30)::int, 'patients_follow_up', (x.q * 12)::int)
          WHEN 'surgery' THEN jsonb_build_object('procedure_name', '腹腔镜手术',
                 'grade', 'grade_' || (1 + (x.q * 3.99)::int % 4), 'role', (ARRAY['primary', 'first_assistant',
                 'supervising', 'demonstrating'])[1 + x.k % 4])
          WHEN 'teaching_round' THEN jsonb_build_object('attendees', 3 + x.k * 2)
          WHEN 'lecture' THEN jsonb_build_object('title', '专题讲座', 'hours', 1 + (x.k % 4) * 0.5,
                 'audience_count', 20 + x.k * 10)
          WHEN 'case_discussion' THEN jsonb_build_object('diagnosis', '疑难病例')
          WHEN 'free_clinic' THEN jsonb_build_object('place', '村卫生室', 'people_served', 30 + x.k * 20)
          WHEN 'remote_consultation' THEN jsonb_build_object('requesting_institution', '乡镇卫生院')
          WHEN 'new_technique' THEN jsonb_build_object('name', '新技术' || x.k)
          WHEN 'mentoring' THEN jsonb_build_object('trainee_id',
                 (SELECT st.id::text FROM syn_trainees st WHERE st.institution_id = m.recipient_id AND st.k = x.k))
          WHEN 'management' THEN jsonb_build_object('meetings_chaired', x.k % 3)
          ELSE jsonb_build_object('condition', '急危重症', 'patients', 1 + x.k % 3)
        END AS f,
        CASE WHEN tt.t = 'surgery' THEN 30 + (x.q * 200)::int END AS d
    ) AS w
)
INSERT INTO entries (id, expert_id, deployment_id, institution_id, work_date, activity_type, fields,
                     duration_minutes, status, version, content_hash, submitted_at, reviewed_at)
SELECT gen_random_uuid(), w.expert_id, w.dep, w.recipient_id, w.day, w.t, w.f, w.d, s.status, 1,
       md5(w.f::text) || md5(w.day::text || w.dep::text), w.day + time '20:00',
       CASE WHEN s.status IN ('approved', 'returned') THEN w.day + 3 + time '10:00' END
FROM work w
CROSS JOIN LATERAL (SELECT random() + (w.day - w.day) AS r) AS rr
CROSS JOIN LATERAL (SELECT CASE
    WHEN w.day > $2::date - 14 THEN (CASE WHEN rr.r < 0.55 THEN 'submitted' WHEN rr.r < 0.60 THEN 'returned'
                                          WHEN rr.r < 0.70 THEN 'draft' ELSE 'approved' END)
    ELSE (CASE WHEN rr.r < 0.93 THEN 'approved' WHEN rr.r < 0.97 THEN 'returned' WHEN rr.r < 0.985 THEN 'submitted'
               ELSE 'draft' END) END AS status) AS s
"""

# A few approved clinics and surgeries were corrected later: the approved revision supersedes the original.
_REVISIONS_SQL = """
WITH pick AS (
    SELECT id FROM entries WHERE deployment_id = ANY($1::uuid[]) AND status = 'approved'
      AND activity_type IN ('clinic', 'surgery') AND revision_of IS NULL AND random() < 0.004
), ins AS (
    INSERT INTO entries (id, expert_id, deployment_id, institution_id, work_date, activity_type, fields,
                         duration_minutes, status, version, content_hash, revision_of, submitted_at, reviewed_at)
    SELECT gen_random_uuid(), e.expert_id, e.deployment_id, e.institution_id, e.work_date, e.activity_type,
           CASE WHEN e.activity_type = 'clinic' THEN e.fields || jsonb_build_object('patients_follow_up', 3)
                ELSE e.fields || jsonb_build_object('grade', 'grade_4') END,
           e.duration_minutes, 'approved', 1, md5(e.id::text) || md5(e.content_hash), e.id,
           e.reviewed_at + interval '2 days', e.reviewed_at + interval '3 days'
    FROM entries e JOIN pick USING (id)
    RETURNING id, revision_of
)
UPDATE entries e SET superseded_by = ins.id FROM ins WHERE e.id = ins.revision_of
"""


async def seed_synthetic(url: str, *, experts: int, years: int, today: date, seed: int = 1,
                         say: Callable[[str], None] = print) -> dict[str, float]:
    """Seed `experts` experts over `years` years ending `today`; returns phase timings and row counts."""
    rng = random.Random(seed)
    tag = secrets.token_hex(2)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    plan = _plan(experts, years, today, rng, tag)
    conn = await asyncpg.connect(plain_url(url))
    try:
        async with conn.transaction():
            await _copy_people(conn, plan)
        timings["people_s"] = time.perf_counter() - t0
        say(f"  people and stays: {len(plan['users'])} users, {len(plan['deployments'])} deployments "
            f"({timings['people_s']:.1f} s)")
        t1 = time.perf_counter()
        ids = [d[0] for d in plan["deployments"]]
        chunks = [ids[i:i + 200] for i in range(0, len(ids), 200)]
        queue: asyncio.Queue[list[uuid.UUID]] = asyncio.Queue()
        for chunk in chunks:
            queue.put_nowait(chunk)
        done = [0]

        async def worker(n: int) -> None:
            wc = await asyncpg.connect(plain_url(url))
            try:
                await wc.execute(f"SELECT setseed({((seed * 7919 + n) % 1000) / 1000.0})")
                await wc.execute("CREATE TEMP TABLE syn_trainees (id uuid, institution_id uuid, k int)")
                await wc.copy_records_to_table("syn_trainees", records=[(t[0], t[1], t[4]) for t in plan["trainees"]])
                await wc.execute("CREATE INDEX ON syn_trainees (institution_id, k)")
                while not queue.empty():
                    chunk = queue.get_nowait()
                    async with wc.transaction():
                        await wc.execute(_ENTRIES_SQL, chunk, today)
                        await wc.execute(_REVISIONS_SQL, chunk)
                        for statement in build_statements(for_deployments=True):
                            await wc.execute(statement, chunk)
                    done[0] += 1
                    if done[0] % max(1, len(chunks) // 10) == 0:
                        say(f"  entries: {done[0]}/{len(chunks)} chunks ({time.perf_counter() - t1:.0f} s)")
            finally:
                await wc.close()

        await asyncio.gather(worker(1), worker(2))
        timings["entries_s"] = time.perf_counter() - t1
        timings["entries"] = float(await conn.fetchval("SELECT count(*) FROM entries"))
        say(f"  entries and their roll-ups: {int(timings['entries'])} entries in the database "
            f"({timings['entries_s']:.1f} s)")
        t2 = time.perf_counter()
        await conn.execute("ANALYZE entries; ANALYZE stat_rollups; ANALYZE stat_trainees; ANALYZE stat_days; "
                           "ANALYZE deployments")
        timings["analyze_s"] = time.perf_counter() - t2
        say(f"  statistics of the planner refreshed ({timings['analyze_s']:.1f} s)")
    finally:
        await conn.close()
    timings["total_s"] = time.perf_counter() - t0
    return timings


async def _copy_people(conn: asyncpg.Connection, plan: dict[str, list[tuple[Any, ...]]]) -> None:
    await conn.copy_records_to_table("institutions", records=plan["institutions"],
                                     columns=["id", "code", "name", "kind", "level", "is_tcm"])
    await conn.copy_records_to_table("agreements", records=plan["agreements"],
                                     columns=["id", "name", "programme", "supporting_id", "recipient_id", "starts_on"])
    await conn.copy_records_to_table("agreement_targets", records=plan["targets"], columns=[
        "agreement_id", "year", "min_staff", "min_leaders", "min_continuous_months", "min_trainees",
        "min_new_techniques", "full_year_coverage"])
    await conn.copy_records_to_table("users", records=plan["users"], columns=[
        "id", "username", "name", "title", "home_institution_id", "password_hash"])
    await conn.copy_records_to_table("role_grants", records=plan["grants"],
                                     columns=["id", "user_id", "role", "institution_id"])
    await conn.copy_records_to_table("deployments", records=plan["deployments"], columns=[
        "id", "expert_id", "recipient_id", "agreement_id", "department", "post", "starts_on", "planned_end",
        "actual_end", "status"])
    await conn.copy_records_to_table("trainees", records=[t[:4] for t in plan["trainees"]],
                                     columns=["id", "institution_id", "name", "created_by"])
