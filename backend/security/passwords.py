"""Argon2id password hashing."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Modest memory cost keeps a login under ~50 ms on a 2-core node while staying Argon2id (RFC 9106 low-memory profile).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the username is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("fieldlog-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> str | None:
    """A reason the password is too weak, or None."""
    if len(password) < 10:
        return "Password must have at least 10 characters"
    if password.isdigit() or password.isalpha():
        return "Password must mix letters and digits or symbols"
    return None
