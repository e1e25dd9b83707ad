"""The `fieldlog` entry point: imports every feature's command module, parses the arguments, runs one.

Nothing imports this module. A new command is a module under backend/cli/ that registers itself with
`backend.cli.core.command`, plus one import line below.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from backend.cli import accounts, audit, backup, docs, keys, server, stats, synthetic, worker
from backend.cli.core import COMMANDS
from backend.settings import SettingsError, load_settings

FEATURES = (server, accounts, docs, audit, stats, synthetic, worker, backup, keys)  # imported for their @command registrations


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldlog", description="fieldlog server and administration")
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd in sorted(COMMANDS.values(), key=lambda c: c.name):
        cmd.configure(sub.add_parser(cmd.name, help=cmd.help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    # pgserver asks platformdirs for a runtime folder; on servers without a login session that only warns.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"fieldlog: configuration error: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[args.command].run(settings, args)


if __name__ == "__main__":
    sys.exit(main())
