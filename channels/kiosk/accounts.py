"""Officer accounts and their passwords (hashed by ``gateway.web.passwords``: argon2id)."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from channels.kiosk import officer_keys, sessions
from channels.kiosk.errors import AccountError
from gateway import clock
from gateway.privacy import audit
from gateway.privacy.keys import NodeKeys
from gateway.web import passwords
from gateway.web.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

ROLES = ("officer", "admin")
__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH"]  # the policy's numbers, for forms and the CLI


def check_password_policy(password: str) -> None:
    problem = passwords.policy_problem(password)
    if problem:
        raise AccountError(problem)


def normalize_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    name = normalize_username(username)
    if not (1 <= len(name) <= 64) or not all(c.isalnum() or c in "._-" for c in name):
        raise AccountError("username must be 1-64 letters, digits, '.', '_' or '-'")
    return name


def add_officer(db: sqlite_utils.Database, username: str, password: str, role: str = "officer",
                *, replace: bool = False, actor: str = "cli", grant_with: NodeKeys | None = None) -> dict[str, Any]:
    """Create (or, with ``replace``, reset) an officer and their key holder; run inside a write job.

    The holder is a fresh key pair under the same password (a reset ends the
    old grants); ``grant_with`` (node keys from a session or the recovery
    code) grants it at once, else the officer waits for a key-holding login.
    The result's ``granted`` says which.
    """
    name = check_username(username)
    if role not in ROLES:
        raise AccountError(f"role must be one of: {', '.join(ROLES)}")
    check_password_policy(password)
    exists = db.execute("SELECT 1 FROM officers WHERE username = ?", [name]).fetchone()
    if exists and not replace:
        raise AccountError(f"officer {name} already exists")
    now = clock.utcnow()
    row = {"username": name, "password_hash": passwords.hash_password(password), "role": role, "active": 1,
           "created_at": now, "updated_at": now}
    if exists:
        db.execute("UPDATE officers SET password_hash = ?, role = ?, active = 1, updated_at = ? WHERE username = ?",
                   [row["password_hash"], role, now, name])
        sessions.table().end_user_in(db, name)  # a reset ends old sessions
    else:
        db["officers"].insert(row)
    audit.append(db, actor=actor, action=audit.OFFICER_RESET if exists else audit.OFFICER_ADDED, subject=name,
                 details={"role": role})
    granted = officer_keys.make_holder(db, name, password, actor=actor, grant_with=grant_with)
    return {**{k: row[k] for k in ("username", "role", "created_at")}, "granted": granted}


def get_officer(db: sqlite_utils.Database, username: str) -> dict[str, Any] | None:
    rows = db.query("SELECT username, role, active, password_hash FROM officers WHERE username = ?",
                    [normalize_username(username)])
    return next(iter(rows), None)


def verify(officer: dict[str, Any] | None, password: str) -> bool:
    """Constant-work check: an unknown or switched-off officer still costs one argon2 verify."""
    return passwords.verify(officer["password_hash"] if officer and officer["active"] else None, password)


def needs_rehash(officer: dict[str, Any]) -> bool:
    return passwords.needs_rehash(officer["password_hash"])


def rehash(db: sqlite_utils.Database, username: str, password: str) -> None:
    db.execute("UPDATE officers SET password_hash = ?, updated_at = ? WHERE username = ?",
               [passwords.hash_password(password), clock.utcnow(), username])


def change_password(db: sqlite_utils.Database, username: str, current: str, new: str, *,
                    keep_session: str | None = None) -> dict[str, Any]:
    """An officer replaces their own password; run inside a write job after ``verify``.

    Unlike a reset (``add_officer(replace=True)``), the officer's key slot is
    re-wrapped under the new password, so the node key they were granted stays
    theirs. Their other sessions end (a password that may be known must not
    leave a session open elsewhere); ``keep_session`` (an id hash) is the one
    they are using. The result's ``slot`` says what became of the key slot
    (``officer_keys.rewrap``).
    """
    name = normalize_username(username)
    check_password_policy(new)
    if new == current:
        raise AccountError("the new password must differ from the current one")
    now = clock.utcnow()
    found = db.execute("UPDATE officers SET password_hash = ?, updated_at = ? WHERE username = ? AND active = 1",
                       [passwords.hash_password(new), now, name]).rowcount
    if not found:
        raise AccountError(f"no active officer {name}")
    slot = officer_keys.rewrap(db, name, current, new)
    sessions.table().end_user_in(db, name, keep_session)
    audit.append(db, actor=name, action=audit.PASSWORD_CHANGED, subject=name, details={"slot": slot})
    return {"username": name, "slot": slot}
