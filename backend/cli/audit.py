"""`fieldlog audit verify`: check the whole audit trail and name every event that is wrong."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from backend.audit.verify import VerifyReport, parse_anchor, verify_trail
from backend.cli.core import command, database_url
from backend.settings import Settings


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="verify the hash chain of the audit trail; exit 1 if it is broken")
    verify.add_argument(
        "--anchor",
        help="<seq>:<hash> of an event printed by an earlier run and kept outside the database "
        "(catches events removed from the end of the trail)",
    )
    verify.add_argument("--batch", type=int, default=5000, help="events read per query")


async def run_verify(url: str, anchor: str | None = None, batch: int = 5000) -> VerifyReport:
    """Verify the trail in the database at `url` (read-only)."""
    from backend.db.engine import make_engine, make_sessionmaker

    checkpoint = parse_anchor(anchor) if anchor else None
    engine = make_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await verify_trail(session, anchor=checkpoint, batch=batch)
    finally:
        await engine.dispose()


def format_report(report: VerifyReport) -> list[str]:
    lines = [f"audit trail: {report.events} events checked, head {report.head.seq}:{report.head.hash}"]
    for problem in report.problems:
        lines.append(f"  event {problem.seq} [{problem.kind}]: {problem.message}")
    if report.ok:
        lines.append("OK: the chain is intact (keep the head above as the --anchor of the next run)")
    else:
        first = min(p.seq for p in report.problems)
        lines.append(f"FAILED: {len(report.problems)} problem(s); the first wrong event is {first}")
    return lines


@command("audit", "audit trail tools: `audit verify`", _configure)
def cmd_audit(settings: Settings, args: Any) -> int:
    try:
        report = asyncio.run(run_verify(database_url(settings), args.anchor, args.batch))
    except ValueError as exc:
        print(f"fieldlog audit verify: {exc}")
        return 2
    for line in format_report(report):
        print(line)
    return 0 if report.ok else 1
