"""Imports run one way: the core (`backend`) never imports the phone-facing layers, except the app factory."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {ROOT / "backend" / "app.py"}


def test_backend_never_imports_mobile_api_or_sync() -> None:
    offenders = []
    for path in (ROOT / "backend").rglob("*.py"):
        if path in ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("mobile_api", "sync")]
    assert offenders == []
