"""`fieldlog backup` and `fieldlog restore`: one tar archive with a manifest, a pg_dump and the files folder.

The dump is PostgreSQL's custom format (`pg_dump -Fc`), taken in one snapshot while the service may keep
running. Files are copied after the dump: files are written before the rows that name them and never
overwritten, so every file a dumped row names is already there (a file uploaded during the backup may come
along without its row, which is harmless). The archive is written beside its destination and renamed into
place only when complete, so a half-written archive is never mistaken for a backup.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from backend.backup.tools import BackupError, run_tool
from backend.db.engine import plain_url

FORMAT = "fieldlog-backup/1"
DUMP = "database.dump"
MANIFEST = "manifest.json"
FILES = "files"


class Manifest(msgspec.Struct, kw_only=True):
    """What an archive holds, checked before anything is restored."""

    format: str
    created_at: datetime
    schema_revision: str | None
    dump_sha256: str
    dump_bytes: int
    files: int
    file_bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_of(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def create_backup(url: str, files_dir: Path | None, out: Path, schema_revision: str | None) -> Manifest:
    """Dump the database at `url` and the files under `files_dir` into the archive `out`."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as work:
        dump = Path(work) / DUMP
        run_tool("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", f"--file={dump}",
                             f"--dbname={plain_url(url)}"])
        files = _files_of(files_dir)
        manifest = Manifest(format=FORMAT, created_at=datetime.now(UTC), schema_revision=schema_revision,
                            dump_sha256=_sha256(dump), dump_bytes=dump.stat().st_size, files=len(files),
                            file_bytes=sum(p.stat().st_size for p in files))
        partial = Path(work) / "archive.partial"
        with tarfile.open(partial, "w") as tar:
            body = msgspec.json.format(msgspec.json.encode(manifest))
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(body), int(manifest.created_at.timestamp())
            tar.addfile(info, io.BytesIO(body))
            tar.add(dump, arcname=DUMP)
            assert files_dir is not None or not files
            for path in files:
                tar.add(path, arcname=f"{FILES}/{path.relative_to(files_dir).as_posix()}")  # type: ignore[arg-type]
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, out)
    return manifest


def read_manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        member = tar.extractfile(MANIFEST)
        if member is None:
            raise KeyError(MANIFEST)
        manifest = msgspec.json.decode(member.read(), type=Manifest)
    except (KeyError, msgspec.DecodeError):
        raise BackupError("not a fieldlog backup: manifest.json missing or unreadable") from None
    if manifest.format != FORMAT:
        raise BackupError(f"backup format {manifest.format!r} is not {FORMAT!r}")
    return manifest


def unpack(archive: Path, into: Path) -> Manifest:
    """Check and extract `archive` into the empty folder `into`; BackupError before anything is used."""
    try:
        tar = tarfile.open(archive, "r")  # noqa: SIM115 - entered just below; a bad file gets its own message
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read {archive}: {exc}") from None
    with tar:
        manifest = read_manifest(tar)
        for member in tar.getmembers():
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise BackupError(f"refusing archive member {member.name!r}")
        tar.extractall(into, filter="data")
    dump = into / DUMP
    if not dump.is_file() or _sha256(dump) != manifest.dump_sha256:
        raise BackupError("the database dump in the archive is damaged (SHA-256 differs from the manifest)")
    if len(_files_of(into / FILES)) != manifest.files:
        raise BackupError("the archive holds a different number of files than its manifest says")
    return manifest
