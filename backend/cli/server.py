"""`fieldlog serve` and `fieldlog migrate`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from backend.cli.accounts import print_accounts, seed_demo_work
from backend.cli.core import command, database_url, with_session
from backend.settings import Settings


@command("migrate", "apply the database migrations up to the newest")
def cmd_migrate(settings: Settings, _args: Any) -> int:
    from backend.db.migrate import upgrade

    upgrade(database_url(settings))
    print("database migrated to head")
    return 0


def _configure_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--no-demo", action="store_true", help="do not insert demo data into an empty embedded database")


@command("serve", "run the HTTP server (embedded PostgreSQL when DATABASE_URL is not set)", _configure_serve)
def cmd_serve(settings: Settings, args: Any) -> int:
    import uvicorn

    from backend.app import create_app, freeze_startup_objects
    from backend.db.migrate import upgrade
    from backend.http.middleware import configure_logging

    configure_logging(settings.log_level)
    # The address actually served: exported documents print it unless FIELDLOG_PUBLIC_BASE_URL says otherwise.
    settings = settings.serving_at(args.host or settings.host, args.port or settings.port)
    keep: list[Any] = []
    embedded = settings.database_url is None
    url = database_url(settings, keep=keep)
    if embedded:
        # The embedded mode is the laptop mode: migrate and seed on start so one command is enough.
        upgrade(url)
        if not args.no_demo:
            from backend.demo import seed_demo

            print_accounts(asyncio.run(with_session(url, seed_demo)))
            asyncio.run(with_session(url, lambda s: seed_demo_work(s, settings)))
    host, port = settings.host, settings.port
    print(f"fieldlog serving on http://{host}:{port} (database: {'embedded' if embedded else 'DATABASE_URL'}; "
          f"public address {settings.public_base_url})", flush=True)
    # uvicorn re-raises SIGTERM / SIGINT once its graceful shutdown is done; exit normally then, so that the
    # embedded PostgreSQL is stopped with the server (pgserver stops it at interpreter exit).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    # X-Forwarded-For is read by the app itself, from FIELDLOG_TRUSTED_PROXIES only (backend/http/client.py).
    app = create_app(settings, url)
    freeze_startup_objects()
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=False)
    return 0
