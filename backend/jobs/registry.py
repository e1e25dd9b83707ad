"""What a job is: a named async function of (context, payload), its retry policy, and periodic rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.runtime import Runtime


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a running job gets: the runtime (settings, database), which attempt this is, and the clock."""

    runtime: Runtime
    job_id: int
    attempt: int
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Job:
    """A kind of background work. Handlers must be idempotent: a job can run again after a worker died."""

    name: str
    run: Handler
    max_attempts: int = 5
    first_retry: timedelta = timedelta(seconds=10)
    max_retry: timedelta = timedelta(minutes=30)
    concurrency: int = 0  # 0: unlimited; enforced in the database across all workers

    def backoff(self, attempt: int) -> timedelta:
        """Delay before the next try after `attempt` failures (exponential, capped)."""
        return min(self.first_retry * (2 ** max(attempt - 1, 0)), self.max_retry)


@dataclass(frozen=True, slots=True)
class Periodic:
    """A cron tick (UTC) that enqueues `job` once per period, however many workers see the tick."""

    job: str
    cron: str
    period: Callable[[datetime], str]

    def dedupe_key(self, now: datetime) -> str:
        return f"{self.job}@{self.period(now)}"


def hourly(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H")


def daily(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d")


@dataclass(slots=True)
class Registry:
    """The jobs and periodic rules one worker runs."""

    jobs: dict[str, Job] = field(default_factory=dict)
    periodic: list[Periodic] = field(default_factory=list)

    @classmethod
    def of(cls, jobs: Iterable[Job], periodic: Iterable[Periodic] = ()) -> Registry:
        reg = cls()
        for job in jobs:
            reg.add(job)
        for rule in periodic:
            reg.every(rule)
        return reg

    def add(self, job: Job) -> None:
        if job.name in self.jobs:
            raise ValueError(f"job {job.name!r} registered twice")
        self.jobs[job.name] = job

    def every(self, rule: Periodic) -> None:
        if rule.job not in self.jobs:
            raise ValueError(f"periodic rule for unknown job {rule.job!r}")
        self.periodic.append(rule)
