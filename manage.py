#!/usr/bin/env python3
"""One entry point for a fresh clone: `python3 manage.py serve` and `python3 manage.py test`.

Creates `.venv` on first use (and reinstalls when pyproject.toml changes), then runs the command inside it.
Needs only Python 3.11+ with pip and venv.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".fieldlog-installed"


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"fieldlog needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print("creating virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing fieldlog and its dependencies into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.check_call([*pip, "--upgrade", "pip"])
    subprocess.check_call([*pip, "-e", f"{ROOT}[dev]"])
    STAMP.write_text(digest)


def main() -> int:
    args = sys.argv[1:] or ["serve"]
    ensure_venv()
    if args[0] == "test":
        cmd = [str(BIN / "python"), "-m", "pytest", *args[1:]]
    else:
        cmd = [str(BIN / "fieldlog"), *args]
    os.chdir(ROOT)
    proc = subprocess.Popen(cmd)
    # Ctrl-C reaches the child from the terminal and it shuts down cleanly (stopping the embedded database);
    # this wrapper must not kill it first. A SIGTERM sent to the wrapper is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
