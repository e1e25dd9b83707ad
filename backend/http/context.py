"""Per-request context (request id, caller address) readable by services without passing the request around."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
origin_var: ContextVar[str | None] = ContextVar("origin", default=None)
