"""Routers of this layer, collected by the app factory."""

from __future__ import annotations

from typing import Any

from sync.server.api import SyncController

ROUTES: list[Any] = [SyncController]
