"""Restoring an archive into a fresh database, and marking any restored database so phones start over.

A restored database is not the one phones last pulled from: their cursors name snapshots of the old server
(or of a moment after the backup was taken). Continuing them would hand out wrong data, so the restore raises
the sync epoch; pull answers every cursor of an older epoch with a reset (`cursor_unknown`), the phone pushes
its queue and downloads its scope again. The feed's transaction ids come from the old server: they are set
below every snapshot of this one, and the tombstone horizon starts again, so neither leaks into new cursors.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncpg

from backend.backup.archive import DUMP, FILES, Manifest, unpack
from backend.backup.tools import BackupError, run_tool
from backend.db.engine import plain_url

_MARK = """
UPDATE sync_horizon SET epoch = epoch + 1, min_xid = 0, purged_at = now() WHERE id = 1 RETURNING epoch
"""
# Below every snapshot of this server (xid 1 is never a transaction's): outside every window from now on.
_FORGET_XIDS = "UPDATE sync_feed SET xid = 1 WHERE xid <> 1"
_TABLES = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"


async def mark_restored(url: str) -> int:
    """Raise the sync epoch (every earlier pull cursor answers a reset); returns the new epoch."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        async with conn.transaction():
            epoch = await conn.fetchval(_MARK)
            if epoch is None:
                raise BackupError("sync_horizon has no row: is this a fieldlog database at the schema head?")
            await conn.execute(_FORGET_XIDS)
        return int(epoch)
    finally:
        await conn.close()


async def _table_count(url: str) -> int:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return int(await conn.fetchval(_TABLES))
    finally:
        await conn.close()


def _check_empty(files_dir: Path | None, work_dir: Path) -> None:
    if files_dir is not None and files_dir.exists() and any(files_dir.iterdir()):
        raise BackupError(f"the files folder {files_dir} is not empty; restore into a fresh data folder")
    work_dir.mkdir(parents=True, exist_ok=True)


def _place_files(unpacked: Path, files_dir: Path) -> None:
    """Move the files into place whole: the folder is either absent or complete, never half-copied."""
    files_dir.parent.mkdir(parents=True, exist_ok=True)
    if not unpacked.is_dir():  # the backup held no files
        files_dir.mkdir(exist_ok=True)
        return
    staged = files_dir.with_name(files_dir.name + ".restoring")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(unpacked, staged)
    if files_dir.exists():
        files_dir.rmdir()  # empty, checked before
    staged.rename(files_dir)


async def restore_backup(archive: Path, url: str, files_dir: Path | None, work_dir: Path) -> tuple[Manifest, int]:
    """Restore `archive` into the empty database at `url` and the empty folder `files_dir`.

    Returns the manifest and the new sync epoch. Nothing is restored when the target is not empty or the
    archive is damaged.
    """
    if await _table_count(url):
        raise BackupError("the target database is not empty; restore into a fresh data folder (FIELDLOG_DATA_DIR)")
    await asyncio.to_thread(_check_empty, files_dir, work_dir)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".restore-") as tmp:
        manifest = await asyncio.to_thread(unpack, archive, Path(tmp))
        await asyncio.to_thread(run_tool, "pg_restore", [
            "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
            f"--dbname={plain_url(url)}", str(Path(tmp) / DUMP)])
        if files_dir is not None:
            await asyncio.to_thread(_place_files, Path(tmp) / FILES, files_dir)
    epoch = await mark_restored(url)
    return manifest, epoch
