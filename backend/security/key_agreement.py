"""Every node signs and verifies with the same secrets: a node whose FIELDLOG_JWT_KEYS differ is not ready.

Tokens are signed by whichever node a phone reaches and verified by whichever it reaches next. A node started
with a different secret under the same key id would answer 401 to half the phones, which then sign their
experts out; nothing in a single node's logs shows why. So the first node to serve with a key id records a
fingerprint of its secret in the database, every later node compares its own, and `/ready` answers 503 naming
the key id on a node that disagrees, so the balancer keeps it out of rotation until it is configured alike.

The fingerprint is an HMAC of a fixed label under the secret: equal secrets give equal fingerprints, and the
row reveals nothing about the secret. A laptop's generated key (`local`) is one node by definition: no check.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
from collections.abc import Mapping

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

GENERATED_KID = "local"
_LABEL = b"fieldlog/jwt-key-fingerprint/v1"


class KeyDisagreement(msgspec.Struct, kw_only=True, frozen=True):
    """A key id this node holds with another secret than the one first registered for it."""

    kid: str
    registered_by: str

    def describe(self) -> str:
        return (f"FIELDLOG_JWT_KEYS: key {self.kid!r} has a different secret on this node than on node "
                f"{self.registered_by!r}; tokens signed by one are refused by the other")


def fingerprint(secret: str) -> str:
    """A stable, non-reversible name for a secret (hex HMAC-SHA256 of a fixed label)."""
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).hexdigest()


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def check_signing_keys(conn: AsyncConnection, keys: Mapping[str, str], node: str) -> list[KeyDisagreement]:
    """Register this node's key ids that nobody registered yet, and name those registered with another secret."""
    mine = {kid: fingerprint(secret) for kid, secret in keys.items() if kid != GENERATED_KID}
    if not mine:
        return []
    for kid, print_ in mine.items():
        await conn.execute(
            text("INSERT INTO signing_key_fingerprints (kid, fingerprint, node) VALUES (:kid, :fp, :node) "
                 "ON CONFLICT (kid) DO NOTHING"),
            {"kid": kid, "fp": print_, "node": node},
        )
    rows = await conn.execute(
        text("SELECT kid, fingerprint, node FROM signing_key_fingerprints WHERE kid = ANY(:kids) ORDER BY kid"),
        {"kids": list(mine)},
    )
    return [KeyDisagreement(kid=kid, registered_by=by) for kid, print_, by in rows if print_ != mine[kid]]


async def forget_signing_key(conn: AsyncConnection, kid: str) -> bool:
    """Drop the record of a key id (after deliberately giving it a new secret everywhere); True if one existed."""
    result = await conn.execute(text("DELETE FROM signing_key_fingerprints WHERE kid = :kid"), {"kid": kid})
    return bool(result.rowcount)
