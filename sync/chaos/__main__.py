"""`python -m sync.chaos`: the chaos run from the command line (see `sync.chaos.run`); imported by nobody."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from sync.chaos.run import ChaosOptions, run_chaos

DESCRIPTION = "The chaos run: many reference clients against a real server process, with everything that goes " \
              "wrong in a county."


def _parse(argv: list[str] | None) -> tuple[ChaosOptions, str | None, Path]:
    p = argparse.ArgumentParser(prog="python -m sync.chaos", description=DESCRIPTION)
    p.add_argument("--phones", type=int, default=200)
    p.add_argument("--mutations", type=int, default=500, help="mutations per phone")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--database-url", help="a PostgreSQL to use (default: the embedded one under --data-dir)")
    p.add_argument("--data-dir", type=Path, default=Path("var/chaos"))
    p.add_argument("--access-token-minutes", type=int, default=1, help="short tokens expire for real mid-run")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (killed together on restarts)")
    p.add_argument("--nodes", type=int, default=1,
                   help="server processes on the same database behind a balancer; killed (SIGKILL) one at a time")
    a = p.parse_args(argv)
    if a.nodes < 1 or a.phones < 1 or a.mutations < 1:
        p.error("--nodes, --phones and --mutations must be at least 1")
    opts = ChaosOptions(phones=a.phones, mutations=a.mutations, seed=a.seed,
                        access_token_minutes=a.access_token_minutes, work_dir=a.data_dir / "run", workers=a.workers,
                        nodes=a.nodes)
    return opts, a.database_url, a.data_dir


def main(argv: list[str] | None = None) -> int:
    opts, url, data_dir = _parse(argv)
    keep: list[Any] = []
    if url is None:
        from sync.chaos.checks import fresh_embedded_database

        url = fresh_embedded_database(data_dir, keep)
    if opts.work_dir and opts.work_dir.exists():
        import shutil

        shutil.rmtree(opts.work_dir)
    result = asyncio.run(run_chaos(opts, url))
    print(result.render())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
