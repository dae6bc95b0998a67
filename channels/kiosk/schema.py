"""Schema owned by `channels.kiosk` (its own migration set): kiosk and portal state.

Officers, their server-side sessions, failed-login counters and citizen
feedback. Session ids are stored only as SHA-256 hashes, so a copy of the
database does not hand out live sessions.
"""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.kiosk")


@migrations()
def m001_officers(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE officers (
            username TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('officer', 'admin')),
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m002_sessions(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE kiosk_sessions (
            id_hash TEXT PRIMARY KEY,
            username TEXT NOT NULL REFERENCES officers(username),
            csrf_secret TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX kiosk_sessions_user ON kiosk_sessions(username)")


@migrations()
def m003_login_failures(db: sqlite_utils.Database) -> None:
    # Keyed by (username, client address): a stranger guessing passwords
    # from elsewhere slows down only their own attempts, never the officer's.
    db.execute(
        """
        CREATE TABLE login_failures (
            username TEXT NOT NULL,
            client TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failure_at TEXT NOT NULL,
            blocked_until TEXT,
            PRIMARY KEY (username, client)
        )
        """
    )


@migrations()
def m004_feedback(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE feedback (
            request_id TEXT PRIMARY KEY REFERENCES requests(id),
            rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
            comment TEXT NOT NULL DEFAULT '',
            locale TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m005_feedback_sealed(db: sqlite_utils.Database) -> None:
    # A feedback comment is free text a citizen typed (it may name people):
    # sealed to the node key like request fields (purpose "feedback", record
    # id = the request id). `comment` stays '' for new rows; comments stored
    # before this change are sealed at the next start (channels.web.feedback.seal_legacy).
    db.execute("ALTER TABLE feedback ADD COLUMN comment_sealed BLOB")


@migrations()
def m006_officer_keys(db: sqlite_utils.Database) -> None:
    # Set when an officer is switched off: their key holder is removed, and
    # only a password reset (a fresh holder) gives them the node key again.
    db.execute("ALTER TABLE officers ADD COLUMN key_revoked INTEGER NOT NULL DEFAULT 0")
