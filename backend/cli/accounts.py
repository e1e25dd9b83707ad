"""`fieldlog seed-demo` and `fieldlog create-user`: the people (and demo work) in the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
from typing import Any

from backend.cli.core import command, database_url, with_session
from backend.settings import Settings


def print_accounts(accounts: list[Any]) -> None:
    from backend.demo import DEMO_PASSWORD

    print(f"demo accounts (password for all: {DEMO_PASSWORD}):")
    for a in accounts:
        print(f"  {a.username:<10} {a.role:<10} {a.name}  {a.detail}")


async def seed_demo_work(session: Any, settings: Settings) -> int:
    from backend.demo_work import seed_demo_work as seed

    return await seed(session, settings)


@command("seed-demo", "insert the demo institutions, agreement, experts and officers")
def cmd_seed_demo(settings: Settings, _args: Any) -> int:
    from backend.db.migrate import upgrade
    from backend.demo import seed_demo

    url = database_url(settings)
    upgrade(url)
    print_accounts(asyncio.run(with_session(url, seed_demo)))
    made = asyncio.run(with_session(url, lambda s: seed_demo_work(s, settings)))
    print(f"demo work: {made} new entries")
    return 0


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
        with_session(url, lambda s: create_user_cli(s, args.username, args.name, args.role, args.title,
                                                    args.home, password))
    )
    print(message)
    return 0
