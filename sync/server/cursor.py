"""Pull cursors: opaque, HMAC-signed, holding PostgreSQL snapshots, never clocks.

A cursor says "the phone has everything visible in snapshot `prev`". While a window is paged it also holds the
`target` snapshot the window ends at, the phase of a first sync and the last key returned. A feed row is new
iff its writing transaction is visible in `target` and not in `prev`, whatever order transactions committed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import msgspec

CURSOR_VERSION = 1
_MAC_BYTES = 16


class CursorError(ValueError):
    """The cursor is unknown, corrupt, forged or belongs to someone else: the phone must reset."""


class Cursor(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The state a phone carries between pulls (it cannot read or change it)."""

    v: int = CURSOR_VERSION
    user: uuid.UUID
    prev: str | None = None  # snapshot the phone is complete up to; None: first sync not finished
    target: str | None = None  # snapshot the window being paged ends at
    phase: str = "feed"  # first sync: deployments, entries, mutations; then feed
    after: list[str] | None = None  # keyset of the last change returned in this phase
    catalog: str | None = None  # catalogue ETag the phone last received
    epoch: int = 0  # the database's sync epoch when issued; a restore raises it (backend/backup/restore.py)


def _key(secret: str) -> bytes:
    # A key of its own, derived from the signing key, so a cursor can never pass for anything else.
    return hashlib.sha256(b"fieldlog-sync-cursor\x00" + secret.encode()).digest()


def encode_cursor(cursor: Cursor, secret: str) -> str:
    body = msgspec.json.encode(cursor)
    mac = hmac.new(_key(secret), body, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")


def decode_cursor(raw: str, secret: str, user_id: uuid.UUID) -> Cursor:
    """The cursor's state, or CursorError when it was not issued by this server to this user."""
    try:
        blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (ValueError, TypeError):
        raise CursorError("not base64") from None
    mac, body = blob[:_MAC_BYTES], blob[_MAC_BYTES:]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(
            mac, hmac.new(_key(secret), body, hashlib.sha256).digest()[:_MAC_BYTES]):
        raise CursorError("bad signature")
    try:
        cursor = msgspec.json.decode(body, type=Cursor)
    except msgspec.DecodeError:
        raise CursorError("unreadable") from None
    if cursor.v != CURSOR_VERSION or cursor.user != user_id:
        raise CursorError("not this user's cursor")
    return cursor


def snapshot_bounds(snapshot: str) -> tuple[int, int]:
    """(xmin, xmax) of a pg_snapshot text `xmin:xmax:xip,...`; ValueError when malformed."""
    parts = snapshot.split(":")
    if len(parts) != 3:
        raise ValueError("not a snapshot")
    xmin, xmax = int(parts[0]), int(parts[1])
    if not 0 < xmin <= xmax:
        raise ValueError("not a snapshot")
    return xmin, xmax
