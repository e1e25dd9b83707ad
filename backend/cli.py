"""The `fieldlog` command: serve, migrate, seed-demo, create-user (and more added by later features)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from backend.settings import Settings, SettingsError, load_settings

COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[Settings, Any], int]]] = {}


def command(name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None] | None = None) -> Any:
    def register(fn: Callable[[Settings, Any], int]) -> Callable[[Settings, Any], int]:
        COMMANDS[name] = (help_text, configure or (lambda _p: None), fn)
        return fn

    return register


def database_url(settings: Settings, *, keep: list[Any] | None = None) -> str:
    """The configured DATABASE_URL, or the embedded PostgreSQL in the data folder (started on demand)."""
    if settings.database_url:
        return settings.database_url
    from backend.db.engine import start_embedded

    server = start_embedded(settings.data_dir)
    if keep is not None:
        keep.append(server)
    return str(server.get_uri())


@command("migrate", "apply the database migrations up to the newest")
def cmd_migrate(settings: Settings, _args: Any) -> int:
    from backend.db.migrate import upgrade

    upgrade(database_url(settings))
    print("database migrated to head")
    return 0


async def _with_session(settings: Settings, url: str, fn: Callable[[Any], Any]) -> Any:
    from backend.db.engine import make_engine, make_sessionmaker

    engine = make_engine(url, pool_size=2)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await fn(session)
    finally:
        await engine.dispose()


def _print_accounts(accounts: list[Any]) -> None:
    from backend.demo import DEMO_PASSWORD

    print(f"demo accounts (password for all: {DEMO_PASSWORD}):")
    for a in accounts:
        print(f"  {a.username:<10} {a.role:<10} {a.name}  {a.detail}")


@command("seed-demo", "insert the demo institutions, agreement, experts and officers")
def cmd_seed_demo(settings: Settings, _args: Any) -> int:
    from backend.db.migrate import upgrade
    from backend.demo import seed_demo

    url = database_url(settings)
    upgrade(url)
    accounts = asyncio.run(_with_session(settings, url, seed_demo))
    _print_accounts(accounts)
    made = asyncio.run(_with_session(settings, url, lambda s: _demo_work(s, settings)))
    print(f"demo work: {made} new entries")
    return 0


async def _demo_work(session: Any, settings: Settings) -> int:
    from backend.demo_work import seed_demo_work

    return await seed_demo_work(session, settings)


def _configure_create_user(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")
    p.add_argument("--name", required=True)
    p.add_argument("--role", action="append", required=True,
                   help="expert | admin | supervisor:<institution code> | hr:<institution code>; repeatable")
    p.add_argument("--title")
    p.add_argument("--home", help="home institution code")
    p.add_argument("--password", help="read from FIELDLOG_NEW_PASSWORD or prompted when omitted")


@command("create-user", "create a user with roles", _configure_create_user)
def cmd_create_user(settings: Settings, args: Any) -> int:
    from backend.admin.users import create_user_cli

    password = args.password or os.environ.get("FIELDLOG_NEW_PASSWORD") or getpass.getpass("password: ")
    url = database_url(settings)
    message = asyncio.run(
        _with_session(settings, url, lambda s: create_user_cli(s, args.username, args.name, args.role, args.title,
                                                               args.home, password))
    )
    print(message)
    return 0


def _configure_api_docs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="docs/api.md")
    p.add_argument("--json", help="also write the raw OpenAPI JSON here")


@command("api-docs", "write the API reference (Markdown) generated from the OpenAPI schema", _configure_api_docs)
def cmd_api_docs(settings: Settings, args: Any) -> int:
    from pathlib import Path

    import msgspec

    from backend.apidocs import openapi_schema, render_markdown

    schema = openapi_schema(settings)
    Path(args.out).write_text(render_markdown(schema), encoding="utf-8")
    if args.json:
        Path(args.json).write_bytes(msgspec.json.format(msgspec.json.encode(schema), indent=1))
    print(f"wrote {args.out}")
    return 0


def _configure_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--no-demo", action="store_true", help="do not insert demo data into an empty embedded database")


@command("serve", "run the HTTP server (embedded PostgreSQL when DATABASE_URL is not set)", _configure_serve)
def cmd_serve(settings: Settings, args: Any) -> int:
    import uvicorn

    from backend.app import create_app
    from backend.db.migrate import upgrade
    from backend.http.middleware import configure_logging

    configure_logging(settings.log_level)
    keep: list[Any] = []
    embedded = settings.database_url is None
    url = database_url(settings, keep=keep)
    if embedded:
        # The embedded mode is the laptop mode: migrate and seed on start so one command is enough.
        upgrade(url)
        if not args.no_demo:
            from backend.demo import seed_demo

            _print_accounts(asyncio.run(_with_session(settings, url, seed_demo)))
            asyncio.run(_with_session(settings, url, lambda s: _demo_work(s, settings)))
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"fieldlog serving on http://{host}:{port} (database: {'embedded' if embedded else 'DATABASE_URL'})",
          flush=True)
    # uvicorn re-raises SIGTERM / SIGINT once its graceful shutdown is done; exit normally then, so that the
    # embedded PostgreSQL is stopped with the server (pgserver stops it at interpreter exit).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    uvicorn.run(create_app(settings, url), host=host, port=port, log_config=None, access_log=False,
                proxy_headers=True, forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"))
    return 0


def main(argv: list[str] | None = None) -> int:
    import warnings

    import backend.cli_extra  # noqa: F401  - registers the commands of later features

    # pgserver asks platformdirs for a runtime folder; on servers without a login session that only warns.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

    parser = argparse.ArgumentParser(prog="fieldlog", description="fieldlog server and administration")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _fn) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"fieldlog: configuration error: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[args.command][2](settings, args)


if __name__ == "__main__":
    sys.exit(main())
