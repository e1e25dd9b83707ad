"""Backups that restore: seed, back up, restore into a fresh data folder; the trail and the figures are intact,
the files are back, and a phone's cursor from before the backup is answered with a reset, not with wrong data."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.backup.archive import create_backup
from backend.backup.restore import restore_backup
from backend.backup.tools import BackupError
from backend.cli.audit import run_verify
from backend.cli.stats import run as run_stats
from backend.runtime import Runtime
from backend.settings import load_settings
from tests.conftest import JWT_SECRET
from tests.sync import clinic, phone

SHEET = b"\xff\xd8\xff\xe0 fieldlog backup test sign-in sheet " * 40
SHEET_SHA = hashlib.sha256(SHEET).hexdigest()


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    """A second, empty PostgreSQL in a new data folder: where the restore goes."""
    import pgserver

    base = Path(f"/tmp/fl-restore-{os.getpid()}-{uuid.uuid4().hex[:6]}")  # short: unix socket path limit
    server = pgserver.get_server(str(base), cleanup_mode="delete")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


async def seed(client: Any, world: Any) -> tuple[Any, list[str], str]:
    """Entries pushed by a phone (one approved), a sign-in sheet uploaded, and the phone's pull cursor."""
    expert = await phone(client, world.expert_a.username)
    ids = [uuid.uuid4() for _ in range(3)]
    reply = await expert.push([expert.mutation("create", i, clinic(world.deployment_a.id,
                                                                  date.today() - timedelta(days=n + 1)))
                               for n, i in enumerate(ids)])
    assert [r["outcome"] for r in reply["results"]] == ["applied"] * 3
    submitted = await client.post(f"/api/v1/entries/{ids[0]}/submit", json={"expected_version": 1},
                                  headers=expert.headers)
    assert submitted.status_code == 200, submitted.text
    supervisor = await phone(client, world.supervisor_a.username)
    decided = await client.post("/api/v1/review/decisions", headers=supervisor.headers, json={"decisions": [
        {"entry_id": str(ids[0]), "version": submitted.json()["version"], "action": "approve"}]})
    assert decided.json()["applied"] == 1, decided.text
    declared = await client.post("/api/v1/attachments", headers=expert.headers, json={
        "sha256": SHEET_SHA, "size": len(SHEET), "content_type": "image/jpeg", "file_name": "签到表.jpg"})
    assert declared.status_code == 201, declared.text
    up = await client.put(declared.json()["upload"]["url"], content=SHEET, headers={
        **expert.headers, "Content-Type": "application/octet-stream",
        "Content-Range": f"bytes 0-{len(SHEET) - 1}/{len(SHEET)}"})
    assert up.json()["status"] == "complete", up.text
    _, cursor = await expert.pull_all()
    return expert, [str(i) for i in ids], cursor


async def test_a_restored_backup_is_whole_and_resets_old_cursors(db: Runtime, client: Any, world: Any,
                                                                  database_url: str, fresh_pg: str,
                                                                  tmp_path: Path) -> None:
    expert, ids, old_cursor = await seed(client, world)
    source_files = db.settings.storage_dir
    archive = tmp_path / "out" / "fieldlog.tar"
    manifest = await asyncio.to_thread(create_backup, database_url, source_files, archive, "head")
    assert archive.is_file()
    assert not list(archive.parent.glob(".backup-*"))
    assert manifest.files >= 1
    assert manifest.dump_bytes > 0

    # Work done after the backup is not in it, and the source's cursor keeps working there.
    late = uuid.uuid4()
    await expert.push([expert.mutation("create", late, clinic(world.deployment_a.id))])
    page = await expert.pull(old_cursor)
    assert page["reset"] is False
    assert [c["id"] for c in page["changes"]] == [str(late)]

    restored = tmp_path / "restored"
    _, epoch = await restore_backup(archive, fresh_pg, restored / "files", restored)
    assert epoch == 1
    assert (await run_verify(fresh_pg)).ok
    stats = await run_stats(fresh_pg, "check")
    assert stats is not None
    assert stats.ok
    assert sum(stats.rows.values()) > 0
    copies = [p for p in (restored / "files").rglob("*") if p.is_file() and p.read_bytes() == SHEET]
    assert copies, "the uploaded sign-in sheet is not among the restored files"

    settings = load_settings({"FIELDLOG_DATA_DIR": str(restored), "FIELDLOG_JWT_KEYS": f"t1:{JWT_SECRET}",
                              "FIELDLOG_STORAGE_DIR": str(restored / "files"), "FIELDLOG_WORKER_IN_PROCESS": "false"})
    async with AsyncTestClient(app=create_app(settings, fresh_pg), base_url="http://restored") as node:
        # The same token still signs in the same device (its session was restored with the data).
        answer = await node.get("/api/v1/sync/pull", params={"cursor": old_cursor}, headers=expert.headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert page["reset"] is True
        assert page["reset_reason"] == "cursor_unknown"
        assert page["changes"] == []
        expert.client = node
        changes, cursor = await expert.pull_all()
        entries = {c["id"] for c in changes if c["kind"] == "entry"}
        assert entries == set(ids)  # everything in the backup, and not the entry written after it
        approved = next(c for c in changes if c["id"] == ids[0])
        assert approved["data"]["status"] == "approved"
        # The restore lost what the phone sent after the backup: its next number is answered with the gap.
        gap = await expert.push([expert.mutation("create", uuid.uuid4(), clinic(world.deployment_a.id))])
        assert gap["gap"] is True
        assert gap["expected_seq"] == 4
        assert gap["results"] == []
        # A cursor issued after the restore is continued normally.
        other = await phone(node, world.expert_a.username)
        newer = uuid.uuid4()
        await other.push([other.mutation("create", newer, clinic(world.deployment_a.id))])
        page = await expert.pull(cursor)
        assert page["reset"] is False
        assert [c["id"] for c in page["changes"]] == [str(newer)]


async def test_restore_refuses_a_database_that_is_not_empty(db: Runtime, database_url: str, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    await asyncio.to_thread(create_backup, database_url, None, archive, "head")
    with pytest.raises(BackupError, match="not empty"):
        await restore_backup(archive, database_url, None, tmp_path)


async def test_a_damaged_archive_is_refused_before_anything_is_restored(db: Runtime, database_url: str,
                                                                        fresh_pg: str, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    await asyncio.to_thread(create_backup, database_url, None, archive, "head")
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "database.dump":
                data = data[:-64] + b"\0" * 64
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(BackupError, match="damaged"):
        await restore_backup(damaged, fresh_pg, tmp_path / "files", tmp_path)
    assert not (tmp_path / "files").exists()
    bogus = tmp_path / "bogus.tar"
    with tarfile.open(bogus, "w"):
        pass
    with pytest.raises(BackupError, match="not a fieldlog backup"):
        await restore_backup(bogus, fresh_pg, None, tmp_path)
