"""`fieldlog api-docs`: the API reference generated from the OpenAPI schema."""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli.core import command
from backend.settings import Settings


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
