"""`fieldlog stats check`: recompute every roll-up from the entries and report each difference."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from backend.cli.core import command, database_url
from backend.settings import Settings
from backend.stats.recompute import CheckResult, check, rebuild


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="stats_command", required=True)
    sub.add_parser("check", help="recompute the roll-ups from the entries and compare; exit 1 on any difference")
    sub.add_parser("rebuild", help="replace the roll-ups with a recomputation from the entries")


async def run(url: str, action: str) -> CheckResult | None:
    """Run the check (read-only) or the rebuild against the database at `url`."""
    from backend.db.engine import make_engine, make_sessionmaker

    engine = make_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if action == "rebuild":
                await rebuild(session)
                return None
            # A repeatable snapshot: approvals committed while the check runs cannot show as differences.
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            return await check(session)
    finally:
        await engine.dispose()


@command("stats", "statistics tools: `stats check`, `stats rebuild`", _configure)
def cmd_stats(settings: Settings, args: Any) -> int:
    keep: list[Any] = []
    url = database_url(settings, keep=keep)
    result = asyncio.run(run(url, args.stats_command))
    if result is None:
        print("roll-ups rebuilt from the entries")
        return 0
    print("roll-up rows: " + ", ".join(f"{table} {n}" for table, n in result.rows.items()))
    for d in result.sample:
        print(f"  {d.table} {d.key}: expected {d.expected}, stored {d.stored}")
    if result.ok:
        print("OK: every roll-up equals the recomputation from the approved entries")
        return 0
    print(f"FAILED: {result.differences} roll-up row(s) differ from the entries")
    return 1
