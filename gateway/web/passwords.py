"""Password hashing for officers and case workers: argon2id at OWASP parameters.

OWASP's Password Storage Cheat Sheet recommends argon2id with at least
19 MiB of memory, 2 iterations and 1 lane; that costs a few tens of
milliseconds on the node's small CPU, cheap for a login and expensive for
someone who copied the database. Hashes carry their parameters, so raising
them later re-hashes each account on its next successful login
(:func:`needs_rehash`). The kiosk and the regional server both hash here.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; a cap stops a megabyte-long "password"
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
# Verified against when the account is unknown or switched off, so "no such
# account" and "wrong password" take the same time and cannot be told apart.
_DUMMY_HASH = HASHER.hash("simpul-no-such-account")


def policy_problem(password: str) -> str | None:
    """Why a new password is refused (English, for CLI and errors), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must be at most {MAX_PASSWORD_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Constant work: an unknown account (``stored`` None) still costs one argon2 verify."""
    too_long = len(password) > MAX_PASSWORD_LENGTH  # never a stored password; still costs one verify
    if too_long:
        password = password[:MAX_PASSWORD_LENGTH]
    try:
        HASHER.verify(stored if stored and not too_long else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return bool(stored) and not too_long


def needs_rehash(stored: str) -> bool:
    return HASHER.check_needs_rehash(stored)
