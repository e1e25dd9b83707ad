"""Attachment storage: one interface, a disk and an S3 backend, built once at start-up from the settings."""

from __future__ import annotations

import asyncio
from typing import Any

from backend.errors import ServiceUnavailable
from backend.settings import Settings
from backend.storage.base import Storage

EXTRA_KEY = "storage"


def build_storage(settings: Settings) -> Storage:
    """The backend the settings choose (not started yet)."""
    if settings.storage_backend == "s3":
        from backend.storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    from backend.storage.disk import DiskStorage

    return DiskStorage(settings.storage_dir)


async def start_storage(runtime: Any) -> None:
    """Start-up hook: build and check the storage once, and hand it to handlers through `runtime.extras`."""
    # Building a boto3 client reads its service model from disk: off the event loop like every other call.
    storage = await asyncio.to_thread(build_storage, runtime.settings)
    await storage.start()
    runtime.extras[EXTRA_KEY] = storage


async def stop_storage(runtime: Any) -> None:
    """Shutdown hook."""
    storage = runtime.extras.pop(EXTRA_KEY, None)
    if storage is not None:
        await storage.close()


def storage_of(runtime: Any) -> Storage:
    storage: Storage | None = runtime.extras.get(EXTRA_KEY)
    if storage is None:
        raise ServiceUnavailable("File storage is not available", headers={"Retry-After": "5"})
    return storage
