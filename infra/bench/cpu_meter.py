"""CPU seconds spent by the server nodes and by PostgreSQL during a phase of a benchmark.

On a shared machine wall-clock figures move with everyone else's load; the CPU a request costs (in the
server's processes, in PostgreSQL's backends) does not, so the benchmarks print both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import psutil  # a dependency of pgserver


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _seconds(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds of each process that is still there."""
    found: dict[int, float] = {}
    for p in processes:
        try:
            t = p.cpu_times()
            found[p.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return found


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    # A process that ended during the phase (a backend, an autovacuum worker) is left out: its last figure is
    # unknown. One that started during it counts from zero.
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def postmaster_pid(pgdata: str | Path | None) -> int | None:
    """The PostgreSQL server's pid from its data folder (None for a database the benchmark did not start)."""
    if pgdata is None:
        return None
    try:
        return int((Path(pgdata) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class CpuMeter:
    """Measures the CPU of the server processes (`server_pids` and their children) and of PostgreSQL."""

    server_pids: list[int]
    postgres_pid: int | None = None
    server: float = 0.0
    postgres: float = 0.0
    _started: tuple[dict[int, float], dict[int, float]] = field(default_factory=lambda: ({}, {}))

    def _now(self) -> tuple[dict[int, float], dict[int, float]]:
        servers = [p for pid in self.server_pids for p in _tree(pid)]
        pg = _tree(self.postgres_pid) if self.postgres_pid else []
        return _seconds(servers), _seconds(pg)

    def __enter__(self) -> CpuMeter:
        self._started = self._now()
        return self

    def __exit__(self, *_: object) -> None:
        server, pg = self._now()
        self.server += _used(self._started[0], server)
        self.postgres += _used(self._started[1], pg)

    def per(self, count: int) -> str:
        """CPU per request (or per entry), in ms, as printed next to a figure."""
        pg = f", PostgreSQL {self.postgres / count * 1000:.2f} ms" if self.postgres_pid else ""
        return f"CPU per request: server {self.server / count * 1000:.2f} ms{pg}"
