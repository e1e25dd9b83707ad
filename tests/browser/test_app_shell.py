"""The app's shell as served: strict CSP on every file, the manifest, and a service worker that caches every file
the shell needs (a file missing from its list would break the offline start)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mobile_api.app import STATIC_DIR
from tests.browser.conftest import LiveServer
from tests.browser.phone import open_app, sign_in, synced


def _get(live_server: LiveServer, path: str) -> Any:
    request = urllib.request.Request(live_server.at(path))
    return urllib.request.urlopen(request, timeout=10)  # noqa: S310 - the test server on 127.0.0.1


def test_every_app_file_carries_the_consoles_strict_policy(live_server: LiveServer) -> None:
    for path in ("/app/", "/app/js/main.js", "/app/sw.js", "/app/manifest.webmanifest", "/app/app.css"):
        with _get(live_server, path) as r:
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert "unsafe-eval" not in csp
            assert r.headers["x-content-type-options"] == "nosniff"
            assert "no-cache" in r.headers["cache-control"]


def test_app_without_its_slash_is_sent_to_the_service_workers_scope(live_server: LiveServer) -> None:
    with _get(live_server, "/app") as r:
        assert r.url.endswith("/app/")
        assert 'data-shell="fieldlog-phone"' in r.read().decode()


def test_the_manifest_makes_the_app_installable(live_server: LiveServer) -> None:
    with _get(live_server, "/app/manifest.webmanifest") as r:
        assert r.headers["content-type"].startswith("application/manifest+json")
        manifest = json.loads(r.read())
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/app/")
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        with _get(live_server, icon["src"]) as r:
            assert r.headers["content-type"].startswith(icon["type"])


def test_the_service_worker_caches_every_file_of_the_shell() -> None:
    listed = set(re.findall(r"'(/app/[^']*)'", (STATIC_DIR / "sw.js").read_text(encoding="utf-8")))
    files = {"/app/" + str(p.relative_to(STATIC_DIR)) for p in STATIC_DIR.rglob("*")
             if p.is_file() and p.name not in ("index.html", "sw.js")}
    assert files <= listed, f"add to sw.js SHELL: {sorted(files - listed)}"
    assert "/app/" in listed


def test_no_module_builds_markup_from_strings() -> None:
    for file in (STATIC_DIR / "js").glob("*.js"):
        text = file.read_text(encoding="utf-8")
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert banned not in text, f"{file.name} uses {banned}"


def test_the_service_worker_version_is_a_digest_of_the_shell(tmp_path: Path, live_server: LiveServer) -> None:
    import shutil

    from mobile_api.app import service_worker_source

    with _get(live_server, "/app/sw.js") as r:
        served = r.read()
    assert served == service_worker_source()
    version = re.search(rb"const VERSION = '(fieldlog-app-[0-9a-f]{16})';", served)
    assert version is not None, "the served worker must carry a content version"

    copy = tmp_path / "static"
    shutil.copytree(STATIC_DIR, copy)
    assert service_worker_source(copy) == served  # same files, same version
    (copy / "js" / "dom.js").write_text((copy / "js" / "dom.js").read_text() + "\n// changed\n")
    changed = re.search(rb"const VERSION = '(fieldlog-app-[0-9a-f]{16})';", service_worker_source(copy))
    assert changed is not None
    assert changed.group(1) != version.group(1)


async def test_an_unchanged_shell_is_not_downloaded_again_on_the_next_online_start(
        context: Any, world: Any, server_log: Any) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    await page.close()
    server_log.clear()

    page = await context.new_page()
    await open_app(page)
    await synced(page)
    shell = [h.path for h in server_log.hits if h.method == "GET" and h.path.startswith("/app")]
    # Only the browser's own update check of the worker reaches the server; every shell file comes from the cache.
    assert set(shell) <= {"/app/sw.js"}, shell


async def test_a_first_visit_carries_each_shell_file_over_the_link_once(
        context: Any, live_server: LiveServer, server_log: Any) -> None:
    page = await context.new_page()
    await open_app(page)
    await page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    # The worker asked about every file while installing; the page had just fetched them, so the answers are 304.
    shell = [h for h in server_log.hits if h.method == "GET" and h.path.startswith("/app") and h.path != "/app/sw.js"]
    full = [h.path for h in shell if h.status == 200]
    assert len(full) == len(set(full)), sorted(full)
    assert any(h.status == 304 for h in shell), [(h.path, h.status) for h in shell]
    listed = set(re.findall(r"'(/app/[^']*)'", (STATIC_DIR / "sw.js").read_text(encoding="utf-8")))
    assert set(full) <= listed


def test_a_shell_file_is_answered_304_only_for_its_own_content(live_server: LiveServer) -> None:
    with _get(live_server, "/app/js/main.js") as r:
        etag = r.headers["etag"]
        assert r.read()
    request = urllib.request.Request(live_server.at("/app/js/main.js"), headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as not_modified:  # urllib raises for a 304
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - the test server on 127.0.0.1
    assert not_modified.value.code == 304
    assert not_modified.value.headers["content-security-policy"]
    stale = urllib.request.Request(live_server.at("/app/js/main.js"), headers={"If-None-Match": '"0123abcd"'})
    with urllib.request.urlopen(stale, timeout=10) as r:  # noqa: S310 - the test server on 127.0.0.1
        assert r.status == 200
        assert r.read()
    with _get(live_server, "/app/js/dom.js") as r:
        assert r.headers["etag"] != etag
    with pytest.raises(urllib.error.HTTPError) as missing:
        _get(live_server, "/app/js/missing.js")
    assert missing.value.code == 404
