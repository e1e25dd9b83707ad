"""Imports run one way: the core (`backend`) never imports the phone-facing layers, except the app factory;
the command line's entry point is imported by nobody and its core by no feature it does not know."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {ROOT / "backend" / "app.py"}
PRODUCT = ("backend", "mobile_api", "sync", "infra")
ENTRY_POINT = "backend.cli.main"


def imported_modules(path: Path) -> list[str]:
    """Every module `path` imports, absolute (`from backend.cli import core` gives `backend.cli.core` too)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_backend_never_imports_mobile_api_or_sync() -> None:
    offenders = []
    for path in (ROOT / "backend").rglob("*.py"):
        if path in ALLOWED:
            continue
        offenders += [f"{path.relative_to(ROOT)}: {n}" for n in imported_modules(path)
                      if n.split(".")[0] in ("mobile_api", "sync")]
    assert offenders == []


def test_cli_entry_point_is_imported_by_nobody() -> None:
    offenders = []
    for top in PRODUCT:
        for path in (ROOT / top).rglob("*.py"):
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in imported_modules(path)
                          if n == ENTRY_POINT or n.startswith(ENTRY_POINT + ".")]
    assert offenders == []


def test_cli_core_and_package_import_no_command_module() -> None:
    """Feature modules import the core; the core (and the package file) import no command module back."""
    for name in ("core.py", "__init__.py"):
        path = ROOT / "backend" / "cli" / name
        upward = [n for n in imported_modules(path) if n.startswith("backend.cli")]
        assert upward == [], f"backend/cli/{name} imports {upward}"


def test_only_the_cli_imports_the_cli() -> None:
    offenders = []
    for top in PRODUCT:
        for path in (ROOT / top).rglob("*.py"):
            if module_name(path).startswith("backend.cli"):
                continue
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in imported_modules(path)
                          if n == "backend.cli" or n.startswith("backend.cli.")]
    assert offenders == []
