"""The notification jobs: the hourly tick that evaluates the rules, and the delivery of one message."""

from __future__ import annotations

from typing import Any

from backend.jobs.registry import JobContext


async def tick(ctx: JobContext, payload: dict[str, Any]) -> None:
    raise NotImplementedError("rules land in the next commit")


async def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    raise NotImplementedError("channels land in the next commit")
