"""The web console: the shell and its files are served with a strict CSP, and every API path it calls exists."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from backend.web import STATIC_DIR

JS_FILES = sorted(STATIC_DIR.rglob("*.js"))
API_LITERAL = re.compile(r"""['"`](/api/v1/[^'"`?\s]*)""")
# `api.get('/api/v1/...')`, `request('POST', '/api/v1/...')`, `download('/api/v1/...')`
API_CALL = re.compile(
    r"""(?:api\.(?P<m>get|post|put|patch|del|raw)\(|request\('(?P<rm>[A-Z]+)',\s*|download\()\s*['"`](?P<path>/api/v1/[^'"`?\s]*)"""
)
METHODS = {"get": "get", "post": "post", "put": "put", "patch": "patch", "del": "delete", "raw": "get"}


def _shape(path: str) -> str:
    """A path with every parameter (`${id}` in JS, `{id}` in OpenAPI) replaced by one marker."""
    path = re.sub(r"\$\{[^}]*\}", "{}", path)
    return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/")


def _js_calls() -> tuple[set[str], set[tuple[str, str]]]:
    paths: set[str] = set()
    calls: set[tuple[str, str]] = set()
    for file in JS_FILES:
        text = file.read_text(encoding="utf-8")
        paths |= {_shape(p) for p in API_LITERAL.findall(text)}
        for m in API_CALL.finditer(text):
            method = METHODS[m.group("m")] if m.group("m") else (m.group("rm") or "GET").lower()
            calls.add((method, _shape(m.group("path"))))
    return paths, calls


async def test_root_serves_the_console_shell(app_client: Any) -> None:
    response = await app_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-shell="fieldlog-console"' in response.text
    assert '<script type="module" src="/static/js/app.js">' in response.text
    assert "/static/app.css" in response.text


async def test_console_answers_carry_a_strict_content_security_policy(app_client: Any) -> None:
    for path in ("/", "/static/js/app.js", "/static/app.css"):
        response = await app_client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_static_files_have_their_content_types(app_client: Any) -> None:
    js = await app_client.get("/static/js/app.js")
    assert js.status_code == 200
    assert js.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    css = await app_client.get("/static/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    missing = await app_client.get("/static/js/no-such-file.js")
    assert missing.status_code == 404


async def test_console_routes_stay_out_of_the_api_schema(app_client: Any) -> None:
    paths = (await app_client.get("/schema/openapi.json")).json()["paths"]
    assert "/" not in paths
    assert not any(p.startswith("/static") for p in paths)


async def test_every_api_path_the_console_calls_exists_in_the_schema(app_client: Any) -> None:
    schema = (await app_client.get("/schema/openapi.json")).json()["paths"]
    known = {
        _shape(p): {m for m in item if m in ("get", "post", "put", "patch", "delete")}
        for p, item in schema.items()
    }
    paths, calls = _js_calls()
    assert len(paths) >= 20, "the parser found too few API paths; has the JS changed shape?"
    assert sorted(p for p in paths if p not in known) == []
    assert sorted(f"{m.upper()} {p}" for m, p in calls if m not in known.get(p, set())) == []


def test_every_module_import_resolves() -> None:
    for file in JS_FILES:
        for target in re.findall(r"""from\s+'(\.{1,2}/[^']+)'""", file.read_text(encoding="utf-8")):
            assert (file.parent / target).resolve().is_file(), f"{file.name} imports missing {target}"


def test_console_never_parses_data_as_markup() -> None:
    # Text goes in through textContent / text nodes; these sinks would need escaping (or CSP exceptions).
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(")
    offenders = [f.name for f in JS_FILES if sinks.search(f.read_text(encoding="utf-8"))]
    assert offenders == []
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handlers need 'unsafe-inline'"
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), "inline scripts are blocked by the CSP"


async def test_sign_in_as_the_console_does(client: Any, world: Any) -> None:
    """A `web-` device id is accepted, and a refresh with it rotates the tokens as the console expects."""
    device_id = f"web-{uuid.uuid4()}"
    login = await client.post(
        "/api/v1/auth/login",
        json={
            "username": world.supervisor_a.username,
            "password": "correct-horse-42",
            "device_id": device_id,
            "app_version": "web-console/1.0",
        },
    )
    assert login.status_code == 200, login.text
    pair = login.json()
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"], "device_id": device_id}
    )
    assert refreshed.status_code == 200, refreshed.text
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    )
    assert me.status_code == 200
    assert "supervisor" in {r["role"] for r in me.json()["roles"]}


def test_static_files_are_packaged() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"web/static/**/*"' in pyproject
