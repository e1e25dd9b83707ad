"""The chaos run's surroundings: a real server process it can kill, the people it syncs as, forged expiries.

`app_from_env` is the launcher: `uvicorn sync.chaos.world:app_from_env --factory` builds the real application
from environment variables, so the run talks HTTP to a separate process exactly as phones do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt

from backend.db.engine import make_engine, make_sessionmaker
from backend.models import Agreement, Deployment, Institution, RoleGrant, User
from backend.security.passwords import hash_password

# Credentials of throw-away chaos and benchmark databases only.
CHAOS_PASSWORD = "chaos-password-42"  # noqa: S105
CHAOS_JWT_SECRET = "chaos-signing-key-0123456789-abcdefghijklmnop"  # noqa: S105


_REPO = Path(__file__).resolve().parents[2]


def app_from_env() -> Any:
    """The application, built from the environment (DATABASE_URL and FIELDLOG_*), for `uvicorn --factory`."""
    from backend.app import create_app, freeze_startup_objects
    from backend.http.middleware import configure_logging
    from backend.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level)  # as `fieldlog serve` does; otherwise every request logs at INFO
    app = create_app(settings, os.environ["DATABASE_URL"])
    freeze_startup_objects()  # as `fieldlog serve` does
    return app


def local_today() -> date:
    """Today where the chaos hospitals are (work dates are checked in the hospital's timezone)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A uvicorn process serving the real app; `kill()` is SIGKILL, as when a node dies mid-request."""

    database_url: str
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    workers: int = 1  # uvicorn worker processes (a 2-core machine serves more with 2: PostgreSQL waits on I/O)
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.database_url,
            "FIELDLOG_DATA_DIR": str(self.data_dir),
            "FIELDLOG_JWT_KEYS": f"chaos:{CHAOS_JWT_SECRET}",
            "FIELDLOG_LOG_LEVEL": "ERROR",
            "FIELDLOG_MAX_INFLIGHT": "100000",
            "FIELDLOG_LOGIN_MAX_FAILURES": "1000",
        })
        env.update(self.extra_env)
        return env

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "server.log").open("ab")  # noqa: ASYNC240 - a local log file, once per start
        # Popen only forks; the waiting below is asynchronous.
        # uvloop and httptools are what uvicorn[standard] runs on; named so that a missing one fails loudly.
        # A session of its own, so that kill() takes the worker processes down with their supervisor.
        self.proc = subprocess.Popen(  # noqa: S603, ASYNC220 - our own interpreter and module
            [sys.executable, "-m", "uvicorn", "sync.chaos.world:app_from_env", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log", "--log-level", "warning", "--loop", "uvloop",
             "--http", "httptools", *(["--workers", str(self.workers)] if self.workers > 1 else [])],
            env=self.env(), stdout=log, stderr=log, cwd=str(_REPO), start_new_session=True)
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.data_dir}/server.log")
                try:
                    if (await client.get("/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the server did not answer /health within 60 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the supervisor and its workers, as a node dies
            self.proc.wait()

    async def restart(self, downtime: float = 0.5) -> None:
        self.kill()
        await asyncio.sleep(downtime)
        self.restarts += 1
        await self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass(frozen=True)
class Person:
    user_id: uuid.UUID
    username: str
    deployment_id: uuid.UUID


@dataclass(frozen=True)
class ChaosPeople:
    experts: list[Person]
    supervisor_id: uuid.UUID
    institution_id: uuid.UUID
    supervisor: str = ""  # the supervisor's username (password CHAOS_PASSWORD)


async def make_people(database_url: str, experts: int, *, tag: str | None = None) -> ChaosPeople:
    """One agreement between two hospitals, `experts` experts deployed at the recipient, one supervisor."""
    tag = tag or uuid.uuid4().hex[:6]
    engine = make_engine(database_url, pool_size=2)
    password_hash = hash_password(CHAOS_PASSWORD)
    start = local_today() - timedelta(days=120)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            home = Institution(id=uuid.uuid4(), code=f"CH{tag}H", name=f"混沌省医院{tag}", kind="supporting_hospital",
                               level="tertiary_a", timezone="Asia/Shanghai")
            county = Institution(id=uuid.uuid4(), code=f"CH{tag}C", name=f"混沌县医院{tag}", kind="county_hospital",
                                 level="secondary_a", timezone="Asia/Shanghai")
            s.add_all([home, county])
            await s.flush()
            agreement = Agreement(id=uuid.uuid4(), name=f"混沌{tag}", programme="counterpart_support",
                                  supporting_id=home.id, recipient_id=county.id, starts_on=start, ends_on=None)
            supervisor = User(id=uuid.uuid4(), username=f"chaos{tag}sup", name="审核", password_hash=password_hash,
                              is_active=True, home_institution_id=county.id)
            s.add_all([agreement, supervisor])
            await s.flush()
            s.add(RoleGrant(user_id=supervisor.id, role="supervisor", institution_id=county.id))
            people = []
            for i in range(experts):
                user = User(id=uuid.uuid4(), username=f"chaos{tag}e{i}", name=f"专家{i}", title="attending_physician",
                            password_hash=password_hash, is_active=True, home_institution_id=home.id)
                dep = Deployment(id=uuid.uuid4(), expert_id=user.id, recipient_id=county.id, agreement_id=agreement.id,
                                 department="普外科", post="clinical_expert", starts_on=start,
                                 planned_end=start + timedelta(days=365), actual_end=None, status="active")
                s.add(user)
                await s.flush()
                s.add_all([RoleGrant(user_id=user.id, role="expert", institution_id=None), dep])
                people.append(Person(user.id, user.username, dep.id))
            await s.flush()
        return ChaosPeople(people, supervisor.id, county.id, supervisor.username)
    finally:
        await engine.dispose()


def forge_expired(access_token: str) -> str:
    """The same session's token, signed as if it had expired an hour ago (a phone that slept offline)."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    past = datetime.now(UTC) - timedelta(hours=2)
    claims.update(iat=int(past.timestamp()), nbf=int(past.timestamp()) - 5,
                  exp=int((past + timedelta(minutes=15)).timestamp()))
    header = jwt.get_unverified_header(access_token)
    return jwt.encode(claims, CHAOS_JWT_SECRET, algorithm="HS256", headers={"kid": header.get("kid", "chaos")})
