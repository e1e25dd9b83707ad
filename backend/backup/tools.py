"""The PostgreSQL client programs a backup needs: the ones pgserver ships, else the ones on PATH."""

from __future__ import annotations

import shutil
import subprocess  # noqa: S404 - runs PostgreSQL's own tools with argument lists, never a shell
from pathlib import Path


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why and what to do."""


def pg_tool(name: str) -> str:
    """Path of `pg_dump` / `pg_restore`: pgserver's (same major version as the embedded server) or PATH's."""
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        shipped = Path(POSTGRES_BIN_PATH) / name
        if shipped.exists():
            return str(shipped)
    except ImportError:  # production images need not carry pgserver
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools or the pgserver package")
    return found


def run_tool(name: str, args: list[str]) -> None:
    """Run a PostgreSQL tool; BackupError with its own message when it fails."""
    done = subprocess.run([pg_tool(name), *args], capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
