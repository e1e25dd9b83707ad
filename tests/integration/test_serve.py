"""`fieldlog serve` in laptop mode: answers /ready, and stopping it stops the embedded PostgreSQL too."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _postmaster(pg_dir: Path) -> int | None:
    pid_file = pg_dir / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def _start(data_dir: Path) -> subprocess.Popen[bytes]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env.update(FIELDLOG_DATA_DIR=str(data_dir), FIELDLOG_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli.main", "serve", "--no-demo"], env=env,
                            stdout=subprocess.DEVNULL, stderr=(data_dir / "serve.log").open("ab"))
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
                assert json.loads(r.read())["status"] == "ok"
                return proc
        except OSError:
            assert proc.poll() is None, (data_dir / "serve.log").read_text()[-2000:]
            time.sleep(0.5)
    proc.kill()
    raise AssertionError("the server never answered /ready")


def test_stopping_the_server_stops_its_embedded_database_even_after_a_crash(tmp_path: Path) -> None:
    pg_dir = tmp_path / "pg"
    first = _start(tmp_path)
    try:
        first.kill()  # a crash: its id stays in pgserver's list of the database's users
        first.wait(timeout=30)
        second = _start(tmp_path)  # reuses the database the crashed process left running
        postmaster = _postmaster(pg_dir)
        assert postmaster is not None
        assert psutil.pid_exists(postmaster)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
        for _ in range(40):
            if not psutil.pid_exists(postmaster):
                break
            time.sleep(0.25)
        assert not psutil.pid_exists(postmaster)
    finally:
        for proc in (first, locals().get("second")):
            if proc is not None and proc.poll() is None:
                proc.kill()
        leftover = _postmaster(pg_dir)
        if leftover and psutil.pid_exists(leftover):
            psutil.Process(leftover).terminate()
