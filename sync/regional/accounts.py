"""Case-worker accounts on the regional server: sessions, throttle, disable, password change.

Everything is the web toolkit's (``gateway.web``): argon2id hashes, the
per-(user, client) throttle with no lockout a stranger can trigger, and
server-side sessions in ``web_sessions`` checked against ``users`` on every
request. Nothing lives in process memory, so several workers agree.
Disabling a user or changing a password deletes their sessions in the same
transaction: they end at once, not at the next timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway import clock
from gateway.web.sessions import Sessions, SqlSessions, Timeouts
from gateway.web.throttle import Policy, SqlPairs, Throttle

COOKIE = "simpul_regional"
MAX_USERNAME = 64


def session_table(store: Any) -> SqlSessions:
    return SqlSessions(store, "web_sessions", accounts="users", active="a.disabled_at IS NULL")


def sessions(store: Any, config: Mapping[str, Any]) -> Sessions:
    return Sessions(session_table(store), Timeouts.of(config["regional.idle_timeout_minutes"],
                                                      config["regional.absolute_timeout_hours"]))


def throttle(store: Any) -> Throttle:
    """The kiosk's policy (5 free attempts, then a doubling wait up to 15 minutes) per (user, client).

    ``store.row_lock`` (" FOR UPDATE" on PostgreSQL) makes the reservation
    atomic where transactions do not serialise writers as SQLite does.
    """
    return Throttle(SqlPairs(store, lock=getattr(store, "row_lock", "")), Policy())


def normalize(username: str) -> str:
    return username.strip()[:MAX_USERNAME]


def user(store: Any, username: str) -> dict[str, Any] | None:
    rows = store.read().query("SELECT username, password_hash, disabled_at FROM users WHERE username = ?",
                              [username])
    return next(iter(rows), None)


def disable(store: Any, username: str) -> bool:
    """Switch a case worker off and end their sessions now; False if there is no such user."""
    table = session_table(None)

    def job(db: Any) -> bool:
        now = clock.utcnow()
        found = db.execute("UPDATE users SET disabled_at = COALESCE(disabled_at, ?), updated_at = ? "
                           "WHERE username = ?", [now, now, username]).rowcount
        table.end_user_in(db, username)
        return found == 1

    return store.write(job)


def enable(store: Any, username: str) -> bool:
    now = clock.utcnow()
    return store.write(lambda db: db.execute("UPDATE users SET disabled_at = NULL, updated_at = ? WHERE username = ?",
                                             [now, username]).rowcount == 1)


def set_password(store: Any, username: str, password_hash: str, *, keep: str | None = None) -> bool:
    """Store a new hash and end the user's other sessions (``keep``: the id hash in use)."""
    table = session_table(None)

    def job(db: Any) -> bool:
        found = db.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?",
                           [password_hash, clock.utcnow(), username]).rowcount
        table.end_user_in(db, username, keep)
        return found == 1

    return store.write(job)
