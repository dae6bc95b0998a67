"""Server-side login sessions with idle and absolute timeouts (kiosk and regional server).

The cookie holds a random id; the table holds only its SHA-256 hash, the
user, a per-session CSRF secret and two timestamps. A fresh id is issued at
every login (no session fixation); logout deletes the row; a session idle
for ``idle`` or older than ``absolute`` is deleted when next seen. Each load
joins the accounts table, so a switched-off or removed account's sessions
stop working on its very next request, and a password change or a removal
deletes the rows at once (:meth:`SessionTable.end_user`).

Storage sits behind :class:`SessionTable`; :class:`SqlSessions` (portable SQL)
serves the node (``kiosk_sessions`` joined with ``officers``) and the regional
server (``web_sessions`` joined with ``users``, SQLite or PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from gateway import clock
from gateway.web.throttle import Database

CLOCK_SKEW = dt.timedelta(seconds=60)  # a session "seen in the future" by more than this: the clock went back
MAX_ID = 100  # a cookie longer than this is no session id of ours


@dataclass(frozen=True)
class Timeouts:
    idle: dt.timedelta
    absolute: dt.timedelta

    @classmethod
    def of(cls, idle_minutes: float, absolute_hours: float) -> Timeouts:
        return cls(idle=dt.timedelta(minutes=idle_minutes), absolute=dt.timedelta(hours=absolute_hours))


def hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_row(username: str, now: dt.datetime | None = None) -> tuple[str, dict[str, Any]]:
    """A fresh session id (for the cookie) and the row to store for it."""
    session_id = secrets.token_urlsafe(32)
    at = clock.to_iso(now or clock.now())
    return session_id, {"id_hash": hash_id(session_id), "username": username,
                        "csrf_secret": secrets.token_urlsafe(32), "created_at": at, "last_seen_at": at}


def valid_cookie(session_id: str | None) -> bool:
    return bool(session_id) and len(session_id) <= MAX_ID and session_id.isascii()


def expired(session: dict[str, Any], timeouts: Timeouts, now: dt.datetime | None = None) -> bool:
    """Idle or too old - or stamped in the future: after the clock stepped back its age cannot be
    measured, and trusting it would let the session outlive its absolute timeout by the jump."""
    now = now or clock.now()
    if clock.parse(session["last_seen_at"]) - now > CLOCK_SKEW:
        return True
    return (now - clock.parse(session["last_seen_at"]) >= timeouts.idle
            or now - clock.parse(session["created_at"]) >= timeouts.absolute)


class SessionTable(Protocol):
    """Where sessions live. ``load`` returns the row only while its account may log in."""

    def insert(self, row: dict[str, Any]) -> None: ...

    def load(self, id_hash: str) -> dict[str, Any] | None: ...

    def touch(self, id_hash: str, at: str) -> None: ...

    def delete(self, id_hash: str) -> None: ...

    def end_user(self, username: str, keep: str | None = None) -> None: ...

    def purge(self, idle_before: str, created_before: str) -> None: ...


class Sessions:
    """The session rules over any :class:`SessionTable`."""

    def __init__(self, table: SessionTable, timeouts: Timeouts):
        self.table = table
        self.timeouts = timeouts

    def create(self, username: str, *, replaces: str | None = None) -> str:
        """Start a session; return the id for the cookie. ``replaces``: the cookie it supersedes."""
        if replaces and valid_cookie(replaces):
            self.table.delete(hash_id(replaces))
        session_id, row = new_row(username)
        self.table.insert(row)
        return session_id

    def current(self, session_id: str | None) -> tuple[dict[str, Any] | None, bool]:
        """(live session or None, True when one was found but had expired and is now deleted)."""
        if not valid_cookie(session_id):
            return None, False
        found = self.table.load(hash_id(session_id))
        if found is None:
            return None, False
        if expired(found, self.timeouts):
            self.table.delete(found["id_hash"])
            return None, True
        return found, False

    def touch(self, session: dict[str, Any]) -> None:
        self.table.touch(session["id_hash"], clock.utcnow())

    def end(self, session: dict[str, Any]) -> None:
        self.table.delete(session["id_hash"])

    def purge_expired(self, now: dt.datetime | None = None) -> None:
        now = now or clock.now()
        self.table.purge(clock.to_iso(now - self.timeouts.idle), clock.to_iso(now - self.timeouts.absolute))


class SqlSessions:
    """:class:`SessionTable` on any ``gateway.web.throttle.Database`` (the node's store, the regional one).

    ``accounts`` is the table sessions are checked against on every load,
    ``active`` its SQL condition for an account that may log in (alias ``a``),
    ``columns`` extra account columns the app reads (``a.role``).
    The ``*_in`` functions run inside a write job the caller already holds (no store needed).
    """

    def __init__(self, store: Database | None, table: str, accounts: str, active: str, columns: str = ""):
        self.store, self.table, self.accounts, self.active = store, table, accounts, active
        self.columns = f", {columns}" if columns else ""

    def _store(self) -> Database:
        if self.store is None:
            raise TypeError("this session table was made without a store: use the *_in functions")
        return self.store

    def insert(self, row: dict[str, Any]) -> None:
        self._store().write(lambda db: self.insert_in(db, row))

    def insert_in(self, db: Any, row: dict[str, Any]) -> None:
        db.execute(f"INSERT INTO {self.table} (id_hash, username, csrf_secret, created_at, last_seen_at) "
                   "VALUES (?, ?, ?, ?, ?)",
                   [row["id_hash"], row["username"], row["csrf_secret"], row["created_at"], row["last_seen_at"]])

    def load(self, id_hash: str) -> dict[str, Any] | None:
        rows = self._store().read().query(
            f"SELECT s.id_hash, s.username, s.csrf_secret, s.created_at, s.last_seen_at{self.columns} "
            f"FROM {self.table} s JOIN {self.accounts} a ON a.username = s.username "
            f"WHERE s.id_hash = ? AND {self.active}", [id_hash])
        return next(iter(rows), None)

    def touch(self, id_hash: str, at: str) -> None:
        self._store().write(lambda db: db.execute(f"UPDATE {self.table} SET last_seen_at = ? WHERE id_hash = ?",
                                               [at, id_hash]))

    def delete(self, id_hash: str) -> None:
        self._store().write(lambda db: self.delete_in(db, id_hash))

    def delete_in(self, db: Any, id_hash: str) -> None:
        db.execute(f"DELETE FROM {self.table} WHERE id_hash = ?", [id_hash])

    def end_user(self, username: str, keep: str | None = None) -> None:
        self._store().write(lambda db: self.end_user_in(db, username, keep))

    def end_user_in(self, db: Any, username: str, keep: str | None = None) -> None:
        db.execute(f"DELETE FROM {self.table} WHERE username = ? AND id_hash <> ?", [username, keep or ""])

    def purge(self, idle_before: str, created_before: str) -> None:
        self._store().write(lambda db: db.execute(
            f"DELETE FROM {self.table} WHERE last_seen_at <= ? OR created_at <= ?", [idle_before, created_before]))
