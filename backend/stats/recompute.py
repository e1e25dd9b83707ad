"""The roll-ups recomputed from the entries in one pass: the bulk build and the exactness check.

The SQL here is the twin of `backend.stats.metrics`; `check` compares what it computes with what
`apply_entry` kept, so a drift between the two definitions shows up as a difference, never silently.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec
from sqlalchemy import text

from backend.stats.metrics import ATTENDANCE_STATUSES, UUID_PATTERN


class Executor(Protocol):
    """An AsyncSession or AsyncConnection."""

    async def execute(self, statement: Any, params: Any = ...) -> Any: ...


def _num(name: str) -> str:
    # Mirrors metrics.number(): JSON numbers only, each rounded to cents before summing.
    return f"(CASE WHEN jsonb_typeof(c.f -> '{name}') = 'number' THEN round((c.f ->> '{name}')::numeric, 2) END)"


_STATUSES = ", ".join(f"'{s}'" for s in ATTENDANCE_STATUSES)

COUNTED_ENTRIES = """
    SELECT e.expert_id, e.deployment_id, e.institution_id, e.work_date,
           date_trunc('month', e.work_date)::date AS month,
           e.activity_type AS t, e.fields AS f, e.duration_minutes AS d
    FROM entries e
    WHERE e.status = 'approved' AND e.superseded_by IS NULL AND e.deleted_at IS NULL
"""

RECOMPUTE_METRICS = f"""
WITH c AS ({COUNTED_ENTRIES})
SELECT c.expert_id, c.deployment_id, c.month, m.metric, c.institution_id,
       sum(m.value) AS value, count(*) AS entries
FROM c CROSS JOIN LATERAL (VALUES
    ('count:' || c.t, 1::numeric),
    (CASE WHEN c.d IS NOT NULL THEN 'minutes:' || c.t END, c.d::numeric),
    (CASE c.t
        WHEN 'clinic' THEN 'patients'
        WHEN 'emergency' THEN 'patients'
        WHEN 'lecture' THEN 'teaching_hours'
        WHEN 'teaching_round' THEN 'attendees'
        WHEN 'free_clinic' THEN 'people_served'
        WHEN 'new_technique' THEN 'new_techniques'
        WHEN 'surgery' THEN CASE WHEN jsonb_typeof(c.f -> 'grade') = 'string' AND jsonb_typeof(c.f -> 'role') = 'string'
                                 THEN 'surgery:' || (c.f ->> 'grade') || ':' || (c.f ->> 'role') END
        WHEN 'attendance' THEN CASE WHEN c.f ->> 'status' IN ({_STATUSES}) THEN 'days:' || (c.f ->> 'status') END
     END,
     CASE c.t
        WHEN 'clinic' THEN coalesce({_num('patients_first_visit')}, 0) + coalesce({_num('patients_follow_up')}, 0)
        WHEN 'emergency' THEN coalesce(nullif({_num('patients')}, 0), 1)
        WHEN 'lecture' THEN coalesce({_num('hours')}, 0)
        WHEN 'teaching_round' THEN coalesce({_num('attendees')}, 0)
        WHEN 'free_clinic' THEN coalesce({_num('people_served')}, 0)
        ELSE 1
     END),
    (CASE WHEN c.t = 'lecture' THEN 'attendees' END, coalesce({_num('audience_count')}, 0))
) AS m(metric, value)
WHERE m.metric IS NOT NULL
GROUP BY c.expert_id, c.deployment_id, c.month, m.metric, c.institution_id
"""  # noqa: S608 - built from this module's constants only

RECOMPUTE_TRAINEES = f"""
WITH c AS ({COUNTED_ENTRIES})
SELECT c.expert_id, c.deployment_id, c.month, (c.f ->> 'trainee_id')::uuid AS trainee_id, c.institution_id,
       count(*) AS entries
FROM c
WHERE c.t = 'mentoring' AND jsonb_typeof(c.f -> 'trainee_id') = 'string' AND (c.f ->> 'trainee_id') ~ '{UUID_PATTERN}'
GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608

RECOMPUTE_DAYS = f"""
WITH c AS ({COUNTED_ENTRIES})
SELECT c.expert_id, c.work_date, c.deployment_id, c.f ->> 'status' AS status, count(*) AS entries
FROM c
WHERE c.t = 'attendance' AND c.f ->> 'status' IN ({_STATUSES})
GROUP BY 1, 2, 3, 4
"""  # noqa: S608

# (table, its key columns, its value columns, the recomputing query)
TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("stat_rollups", ("expert_id", "deployment_id", "month", "metric"), ("institution_id", "value", "entries"),
     RECOMPUTE_METRICS),
    ("stat_trainees", ("expert_id", "deployment_id", "month", "trainee_id"), ("institution_id", "entries"),
     RECOMPUTE_TRAINEES),
    ("stat_days", ("expert_id", "work_date", "deployment_id", "status"), ("entries",), RECOMPUTE_DAYS),
)


class Difference(msgspec.Struct, kw_only=True, frozen=True):
    """One roll-up row that differs from the recomputation (None: the row is missing on that side)."""

    table: str
    key: dict[str, str]
    expected: dict[str, str] | None
    stored: dict[str, str] | None


class CheckResult(msgspec.Struct, kw_only=True, frozen=True):
    """How many rows were compared per table and the first differences found."""

    rows: dict[str, int]
    differences: int
    sample: list[Difference]

    @property
    def ok(self) -> bool:
        return self.differences == 0


_COUNTED_TAIL = "e.deleted_at IS NULL"


def rebuild_statements() -> list[str]:
    """SQL that empties the roll-ups and fills them from the entries (the bulk build; run in one transaction)."""
    return ["TRUNCATE stat_rollups, stat_trainees, stat_days", *build_statements()]


def build_statements(*, for_deployments: bool = False) -> list[str]:
    """INSERT … SELECT of every roll-up; with `for_deployments`, only of the deployments in $1 (a uuid[]).

    Every roll-up key includes the deployment, so building disjoint sets of new deployments (the
    synthetic seeder does, on parallel connections) gives exactly the rows of one full build.
    """
    statements = []
    for table, keys, values, query in TABLES:
        if for_deployments:
            query = query.replace(_COUNTED_TAIL, f"{_COUNTED_TAIL} AND e.deployment_id = ANY($1::uuid[])")
        # Each recomputing query selects its columns in key-then-value order.
        columns = ", ".join((*keys, *values))
        statements.append(f"INSERT INTO {table} ({columns}) {query}")
    return statements


async def rebuild(db: Executor) -> None:
    """Replace every roll-up with the recomputation; the caller owns the transaction."""
    for statement in rebuild_statements():
        await db.execute(text(statement))


def _compare_sql(table: str, keys: tuple[str, ...], values: tuple[str, ...], query: str, limit: int) -> str:
    join = " AND ".join(f"x.{k} = s.{k}" for k in keys)
    differs = " OR ".join(f"x.{v} IS DISTINCT FROM s.{v}" for v in values)
    key_json = ", ".join(f"'{k}', coalesce(x.{k}, s.{k})::text" for k in keys)
    side = lambda alias: ", ".join(f"'{v}', {alias}.{v}::text" for v in values)  # noqa: E731
    return f"""
        WITH x AS ({query}), s AS (SELECT * FROM {table}),
        d AS (
            SELECT jsonb_build_object({key_json}) AS key,
                   CASE WHEN x.{keys[0]} IS NULL THEN NULL ELSE jsonb_build_object({side('x')}) END AS expected,
                   CASE WHEN s.{keys[0]} IS NULL THEN NULL ELSE jsonb_build_object({side('s')}) END AS stored
            FROM x FULL OUTER JOIN s ON {join}
            WHERE x.{keys[0]} IS NULL OR s.{keys[0]} IS NULL OR {differs}
        )
        SELECT (SELECT count(*) FROM d) AS n, (SELECT count(*) FROM s) AS rows,
               (SELECT coalesce(jsonb_agg(t), '[]'::jsonb) FROM (SELECT * FROM d LIMIT {limit}) t) AS sample
    """  # noqa: S608 - names come from TABLES, never from input


async def check(db: Executor, *, sample: int = 20) -> CheckResult:
    """Recompute every roll-up from the entries and compare it with the stored one, row by row."""
    rows: dict[str, int] = {}
    total = 0
    found: list[Difference] = []
    for table, keys, values, query in TABLES:
        result = (await db.execute(text(_compare_sql(table, keys, values, query, sample)))).one()
        rows[table] = int(result.rows)
        total += int(result.n)
        found.extend(Difference(table=table, key=d["key"], expected=d["expected"], stored=d["stored"])
                     for d in result.sample)
    return CheckResult(rows=rows, differences=total, sample=found[:sample])
