"""`fieldlog keys`: which JWT key ids the nodes have agreed on, and forgetting one after a deliberate change."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from sqlalchemy import text

from backend.cli.core import command, database_url
from backend.security.key_agreement import check_signing_keys, fingerprint, forget_signing_key, node_name
from backend.settings import Settings


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_command", required=True)
    sub.add_parser("check", help="compare this configuration's FIELDLOG_JWT_KEYS with what the nodes registered; "
                   "exit 1 on a disagreement")
    forget = sub.add_parser("forget", help="forget the registered secret of a key id, after giving it a new "
                            "secret on every node (the next node to start registers the new one)")
    forget.add_argument("kid")


async def _run(settings: Settings, args: Any) -> int:
    from backend.db.engine import make_engine

    engine = make_engine(database_url(settings), pool_size=1)
    try:
        async with engine.begin() as conn:
            if args.keys_command == "forget":
                found = await forget_signing_key(conn, args.kid)
                print(f"key {args.kid!r}: " + ("forgotten" if found else "was not registered"))
                return 0
            disagreements = await check_signing_keys(conn, settings.jwt_keys, node_name())
            rows = await conn.execute(text("SELECT kid, fingerprint, node, registered_at "
                                           "FROM signing_key_fingerprints ORDER BY kid"))
            for kid, print_, node, at in rows:
                mine = settings.jwt_keys.get(kid)
                state = "not configured here" if mine is None else (
                    "same secret here" if fingerprint(mine) == print_ else "DIFFERENT SECRET HERE")
                print(f"{kid}: registered by {node} at {at:%Y-%m-%d %H:%M} UTC; {state}")
    finally:
        await engine.dispose()
    for disagreement in disagreements:
        print(disagreement.describe())
    return 1 if disagreements else 0


@command("keys", "JWT key agreement across nodes: `keys check`, `keys forget KID`", _configure)
def cmd_keys(settings: Settings, args: Any) -> int:
    return asyncio.run(_run(settings, args))
