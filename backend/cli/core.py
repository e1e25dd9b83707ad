"""What every `fieldlog` command shares: the registry behind `@command`, and a session on the database."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from backend.db.engine import database_url
from backend.settings import Settings

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[Settings, Any], int]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help_text: str
    configure: Configure
    run: Run


COMMANDS: dict[str, Command] = {}


def command(name: str, help_text: str, configure: Configure | None = None) -> Callable[[Run], Run]:
    """Register `fn(settings, args) -> exit code` as `fieldlog <name>`; `configure` adds its arguments."""

    def register(fn: Run) -> Run:
        if name in COMMANDS:
            raise ValueError(f"fieldlog command {name!r} registered twice")
        COMMANDS[name] = Command(name, help_text, configure or (lambda _p: None), fn)
        return fn

    return register


async def with_session(url: str, fn: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `fn(session)` in one transaction on a small engine of its own, then dispose of the engine."""
    from backend.db.engine import make_engine, make_sessionmaker

    engine = make_engine(url, pool_size=2)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await fn(session)
    finally:
        await engine.dispose()


__all__ = ["COMMANDS", "Command", "command", "database_url", "with_session"]
