"""Server-side officer sessions with idle and absolute timeouts.

The cookie holds a random id; the table holds only its SHA-256 hash, the
officer, a per-session CSRF secret and two timestamps. A fresh id is issued
at every login (no session fixation), logout deletes the row, and a session
idle for ``idle`` or older than ``absolute`` is deleted when next seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from gateway import clock

COOKIE = "simpul_kiosk"
CLOCK_SKEW = dt.timedelta(seconds=60)  # a session "seen in the future" by more than this: the clock went back


@dataclass(frozen=True)
class Timeouts:
    idle: dt.timedelta
    absolute: dt.timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Timeouts:
        return cls(idle=dt.timedelta(minutes=config["kiosk.idle_timeout_minutes"]),
                   absolute=dt.timedelta(hours=config["kiosk.absolute_timeout_hours"]))


def hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def create(db: sqlite_utils.Database, username: str, now: dt.datetime | None = None) -> str:
    """Start a session (inside a write job); return the id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    at = clock.to_iso(now or clock.now())
    db["kiosk_sessions"].insert({"id_hash": hash_id(session_id), "username": username,
                                 "csrf_secret": secrets.token_urlsafe(32), "created_at": at, "last_seen_at": at})
    return session_id


def load(db: sqlite_utils.Database, session_id: str | None) -> dict[str, Any] | None:
    if not session_id or len(session_id) > 100:
        return None
    rows = db.query(
        "SELECT s.id_hash, s.username, s.csrf_secret, s.created_at, s.last_seen_at, o.role "
        "FROM kiosk_sessions s JOIN officers o ON o.username = s.username "
        "WHERE s.id_hash = ? AND o.active = 1",
        [hash_id(session_id)],
    )
    return next(iter(rows), None)


def expired(session: dict[str, Any], timeouts: Timeouts, now: dt.datetime | None = None) -> bool:
    """Idle or too old - or stamped in the future: after the clock stepped back its age cannot be
    measured, and trusting it would let the session outlive its absolute timeout by the jump."""
    now = now or clock.now()
    if clock.parse(session["last_seen_at"]) - now > CLOCK_SKEW:
        return True
    return (now - clock.parse(session["last_seen_at"]) >= timeouts.idle
            or now - clock.parse(session["created_at"]) >= timeouts.absolute)


def touch(db: sqlite_utils.Database, id_hash: str, now: dt.datetime | None = None) -> None:
    db.execute("UPDATE kiosk_sessions SET last_seen_at = ? WHERE id_hash = ?",
               [clock.to_iso(now or clock.now()), id_hash])


def delete(db: sqlite_utils.Database, id_hash: str) -> None:
    db.execute("DELETE FROM kiosk_sessions WHERE id_hash = ?", [id_hash])


def purge_expired(db: sqlite_utils.Database, timeouts: Timeouts, now: dt.datetime | None = None) -> None:
    now = now or clock.now()
    db.execute("DELETE FROM kiosk_sessions WHERE last_seen_at <= ? OR created_at <= ?",
               [clock.to_iso(now - timeouts.idle), clock.to_iso(now - timeouts.absolute)])
