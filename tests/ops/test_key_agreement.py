"""Nodes must sign and verify with the same secrets: a node whose FIELDLOG_JWT_KEYS differ is not ready."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.app import create_app
from backend.cli.main import main as fieldlog
from backend.runtime import Runtime
from backend.security.key_agreement import fingerprint
from tests.conftest import JWT_SECRET
from tests.ops.test_faults import node_settings, serving

OTHER_SECRET = "another-secret-that-is-at-least-32-characters-long"


async def test_a_node_with_another_secret_for_the_same_key_id_is_not_ready(
        db: Runtime, database_url: str, tmp_path: Path) -> None:
    first = create_app(node_settings(tmp_path / "a"), database_url)
    stray = create_app(node_settings(tmp_path / "b", FIELDLOG_JWT_KEYS=f"t1:{OTHER_SECRET}"), database_url)
    alike = create_app(node_settings(tmp_path / "c"), database_url)
    async with serving(first) as a, serving(stray) as b, serving(alike) as c:
        assert (await a.get("/ready")).status_code == 200
        reply = await b.get("/ready")
        assert reply.status_code == 503, reply.text
        body: dict[str, Any] = reply.json()
        assert body["database"] == "ok"
        assert "'t1'" in body["detail"]
        assert "FIELDLOG_JWT_KEYS" in body["detail"]
        assert OTHER_SECRET not in reply.text
        assert JWT_SECRET not in reply.text
        assert (await c.get("/ready")).status_code == 200
        # The node that was first stays ready: the stray one is the one taken out of rotation.
        assert (await a.get("/ready")).status_code == 200


async def test_a_new_key_id_is_registered_by_the_first_node_that_holds_it(
        db: Runtime, database_url: str, tmp_path: Path) -> None:
    rotated = f"t2:{OTHER_SECRET},t1:{JWT_SECRET}"
    async with serving(create_app(node_settings(tmp_path / "a", FIELDLOG_JWT_KEYS=rotated), database_url)) as a:
        assert (await a.get("/ready")).status_code == 200
    async with db.engine.connect() as conn:
        from sqlalchemy import text

        rows = dict((await conn.execute(text("SELECT kid, fingerprint FROM signing_key_fingerprints"))).all())
    assert rows == {"t1": fingerprint(JWT_SECRET), "t2": fingerprint(OTHER_SECRET)}


def test_keys_check_names_the_disagreement_and_forget_clears_it(
        db: Runtime, database_url: str, tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("FIELDLOG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FIELDLOG_JWT_KEYS", f"t1:{JWT_SECRET}")
    assert fieldlog(["keys", "check"]) == 0
    assert "t1: registered by" in capsys.readouterr().out
    monkeypatch.setenv("FIELDLOG_JWT_KEYS", f"t1:{OTHER_SECRET}")
    assert fieldlog(["keys", "check"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERENT SECRET HERE" in out
    assert "'t1'" in out
    assert fieldlog(["keys", "forget", "t1"]) == 0
    assert "forgotten" in capsys.readouterr().out
    assert fieldlog(["keys", "check"]) == 0  # the new secret is now the registered one


def test_a_fingerprint_tells_secrets_apart_without_containing_them() -> None:
    assert fingerprint(JWT_SECRET) == fingerprint(JWT_SECRET)
    assert fingerprint(JWT_SECRET) != fingerprint(OTHER_SECRET)
    assert JWT_SECRET not in fingerprint(JWT_SECRET)
    assert len(fingerprint(JWT_SECRET)) == 64
