"""Verification codes: 12 random Crockford base32 characters (60 bits), read back forgivingly from a printout."""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
# Crockford's decoding rules: a reader may copy O for 0 and I or L for 1 off a printed page.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_]+")
_VALID = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")


def new_code() -> str:
    """A fresh random code; unguessable, so the public page shows nothing to someone without the document."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    """The code in groups of four, as printed: `7K3M-Q9TX-2HRD`."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise(raw: str) -> str | None:
    """The canonical code for what someone typed (any case, with or without dashes), or None if it cannot be one."""
    candidate = _SEPARATORS.sub("", raw).upper().translate(_READ_AS)
    return candidate if _VALID.match(candidate) else None
