"""`fieldlog seed-synthetic`: a province's worth of realistic data (the generator is backend/synthetic.py)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from backend.cli.core import command, database_url
from backend.settings import Settings
from backend.synthetic import SYNTHETIC_PASSWORD, seed_synthetic
from backend.worklog.rules import local_today


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--experts", type=int, default=200, help="number of experts (default 200)")
    p.add_argument("--years", type=int, default=3, help="years of history ending today (default 3)")
    p.add_argument("--seed", type=int, default=1, help="random seed for repeatable data")


@command("seed-synthetic", "insert realistic synthetic data at scale (experts, stays, entries, roll-ups)", _configure)
def cmd_seed_synthetic(settings: Settings, args: Any) -> int:
    from backend.db.migrate import upgrade

    if args.experts < 1 or not 1 <= args.years <= 20:
        print("fieldlog: --experts must be at least 1 and --years between 1 and 20")
        return 2
    keep: list[Any] = []
    url = database_url(settings, keep=keep)
    upgrade(url)
    print(f"seeding {args.experts} experts over {args.years} years (password for all: {SYNTHETIC_PASSWORD})")
    timings = asyncio.run(seed_synthetic(url, experts=args.experts, years=args.years,
                                         today=local_today(settings.timezone, datetime.now(UTC)),
                                         seed=args.seed))
    print(f"done in {timings['total_s']:.1f} s")
    return 0
