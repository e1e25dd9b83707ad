"""`fieldlog backup` / `fieldlog restore`: the laptop mode's database and files in one archive, and back.

Production backs up PostgreSQL with PITR or the managed service and the files with bucket versioning
(docs/operations.md); after such a restore run `fieldlog restore --mark-only` once, before opening traffic.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend.cli.core import command, database_url
from backend.settings import Settings


def _configure_backup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="archive to write (default: <data dir>/backups/fieldlog-<UTC time>.tar)")


def _configure_restore(p: argparse.ArgumentParser) -> None:
    p.add_argument("archive", type=Path, nargs="?", help="a `fieldlog backup` archive")
    p.add_argument("--mark-only", action="store_true",
                   help="restore nothing; mark the database as restored (after PITR or a managed restore) so "
                        "every phone's pull cursor answers a reset")


async def _revision(url: str) -> str | None:
    import asyncpg

    from backend.db.engine import plain_url

    conn = await asyncpg.connect(plain_url(url))
    try:
        return await conn.fetchval("SELECT version_num FROM alembic_version")  # type: ignore[no-any-return]
    finally:
        await conn.close()


def _files_dir(settings: Settings) -> Path | None:
    if settings.storage_backend != "disk":
        print("files are in S3: they are not in the archive; keep bucket versioning on (docs/operations.md)")
        return None
    return settings.storage_dir


@command("backup", "write the database (pg_dump) and the files folder into one archive", _configure_backup)
def cmd_backup(settings: Settings, args: Any) -> int:
    from backend.backup.archive import create_backup
    from backend.backup.tools import BackupError

    keep: list[Any] = []
    url = database_url(settings, keep=keep)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or settings.data_dir / "backups" / f"fieldlog-{stamp}.tar"
    try:
        manifest = create_backup(url, _files_dir(settings), out, asyncio.run(_revision(url)))
    except BackupError as exc:
        print(f"fieldlog backup: {exc}")
        return 1
    print(f"wrote {out}: database {manifest.dump_bytes} bytes (schema {manifest.schema_revision}), "
          f"{manifest.files} files ({manifest.file_bytes} bytes)")
    return 0


@command("restore", "restore a backup archive into a fresh data folder (or --mark-only)", _configure_restore)
def cmd_restore(settings: Settings, args: Any) -> int:
    from backend.backup.restore import mark_restored, restore_backup
    from backend.backup.tools import BackupError

    keep: list[Any] = []
    url = database_url(settings, keep=keep)
    try:
        if args.mark_only:
            epoch = asyncio.run(mark_restored(url))
            print(f"database marked as restored: sync epoch {epoch}; every phone will reset its pull cursor")
            return 0
        if args.archive is None:
            print("fieldlog restore: name the archive to restore (or --mark-only)")
            return 2
        manifest, epoch = asyncio.run(restore_backup(args.archive, url, _files_dir(settings), settings.data_dir))
    except BackupError as exc:
        print(f"fieldlog restore: {exc}")
        return 1
    print(f"restored {args.archive} (taken {manifest.created_at:%Y-%m-%d %H:%M} UTC, schema "
          f"{manifest.schema_revision}, {manifest.files} files); sync epoch {epoch}: phones reset their cursors. "
          f"Next: `fieldlog migrate`, `fieldlog audit verify`, `fieldlog stats check`")
    return 0
