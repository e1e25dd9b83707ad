"""Imports run one way: the core (`backend`) never imports the phone-facing layers, except the app factory;
the command line's entry point is imported by nobody and its core imports no command; the sync server, the
reference client and the chaos harness are layered (server <- client <- chaos) and the client has no circle; the
packages of `backend` import each other without a circle (the job catalogue on top of the features, the shared
document pieces in backend/documents under them)."""

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


def _graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports (type-only imports included: a circle is a circle)."""
    base = ROOT.joinpath(*package.split("."))
    modules = {module_name(p): p for p in base.rglob("*.py")}
    return {name: {n for n in imported_modules(path) if n in modules and n != name} for name, path in modules.items()}


def _circle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of `graph` (as a path that ends where it starts), or [] when there is none."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_circle_finder_finds_a_circle() -> None:
    assert _circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _circle({"a": {"b"}, "b": set()}) == []


def test_sync_client_and_chaos_have_no_import_circle() -> None:
    for package in ("sync.client", "sync.chaos", "sync.server"):
        # The package file itself is left out: importing `sync.server.records` runs it, which is no circle.
        graph = {name: deps - {package} for name, deps in _graph(package).items() if name != package}
        assert _circle(graph) == [], f"import circle in {package}"


def test_sync_layers_run_one_way() -> None:
    """The server knows neither the client nor the harness; the client uses only the server's wire types."""
    offenders = []
    for path in (ROOT / "sync").rglob("*.py"):
        name = module_name(path)
        for n in imported_modules(path):
            if name.startswith("sync.server") and n.startswith(("sync.client", "sync.chaos")):
                offenders.append(f"{name}: {n}")
            if name.startswith("sync.client") and (n.startswith("sync.chaos") or (
                    n.startswith("sync.server") and n not in ("sync.server", "sync.server.protocol")
                    and not n.startswith("sync.server.protocol."))):
                offenders.append(f"{name}: {n}")
    assert offenders == []


def test_nothing_imports_the_chaos_command() -> None:
    offenders = [f"{path.relative_to(ROOT)}" for top in (*PRODUCT, "tests") for path in (ROOT / top).rglob("*.py")
                 if any(n.startswith("sync.chaos.__main__") for n in imported_modules(path))]
    assert offenders == []


def _package_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], list[str]]]:
    """backend's packages (and top-level modules) -> those they import, with the import lines behind each edge.

    Every import counts, function-local and type-only ones too: an import put inside a function still ties the
    two packages together, it only hides the tie from the reader."""
    base = ROOT / "backend"
    graph: dict[str, set[str]] = {}
    why: dict[tuple[str, str], list[str]] = {}
    for path in base.rglob("*.py"):
        if path.parent == base and path.name == "__init__.py":
            continue
        src = path.relative_to(base).parts[0].removesuffix(".py")
        graph.setdefault(src, set())
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] != "backend" or len(parts) < 2 or parts[1] == src:
                continue
            if not ((base / parts[1]).is_dir() or (base / f"{parts[1]}.py").is_file()):
                continue  # `from backend import x` names x too: only real packages and modules are nodes
            graph[src].add(parts[1])
            why.setdefault((src, parts[1]), []).append(f"{path.relative_to(ROOT)}: {name}")
    return graph, why


def test_package_graph_sees_function_local_imports() -> None:
    graph, why = _package_graph()
    # backend/app.py imports the job catalogue inside job_registry(): still an edge.
    assert "job_catalog" in graph["app"]
    assert any("backend.job_catalog" in w for w in why[("app", "job_catalog")])


def test_backend_packages_import_each_other_without_a_circle() -> None:
    """No package of backend reaches itself through the others (issue: the reports/appraisal/export/jobs/
    notifications circle): features import the queue engine and backend/documents, the catalogue imports them."""
    graph, why = _package_graph()
    circle = _circle(graph)
    edges = [f"{a} -> {b}: {why[(a, b)][0]}" for a, b in zip(circle, circle[1:], strict=False)]
    assert circle == [], "package import circle:\n" + "\n".join(edges)


def test_the_job_engine_imports_no_feature_and_only_the_top_imports_the_catalogue() -> None:
    graph, _ = _package_graph()
    # The engine stands on the database, settings and the audit trail (its retry is audited); no feature.
    assert graph["jobs"] <= {"audit", "auth", "db", "errors", "runtime", "settings"}, graph["jobs"]
    importers = {src for src, deps in graph.items() if "job_catalog" in deps}
    assert importers <= {"app"}, importers


FLOORS = [  # the house from the bottom up (issue 12); a module imports its own floor and those below, never above
    ("backend.errors", "backend.settings", "backend.service_time", "backend.vocab"),
    ("backend.stats", "backend.audit"),
    ("backend.worklog",),
    ("backend.review",),
]


def test_the_lower_floors_never_import_the_higher_ones() -> None:
    """Settings and the rules next to them import no feature; statistics and audit import neither the work log
    nor review; the work log (entries and their state machine) never imports review, which builds on it."""
    offenders = []
    for level, floor in enumerate(FLOORS):
        above = [p for higher in FLOORS[level + 1:] for p in higher]
        for prefix in floor:
            base = ROOT.joinpath(*prefix.split("."))
            paths = list(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
            for path in paths:
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in imported_modules(path)
                              if any(n == a or n.startswith(a + ".") for a in above)]
    assert offenders == []
