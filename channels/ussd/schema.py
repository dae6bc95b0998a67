"""Schema owned by `channels.ussd` (its own migration set).

``ussd_sessions`` holds one row per aggregator session, keyed by the
aggregator's ``sessionId``: the menu state, the last ``text`` seen (the newest
input is what follows it) and the last reply (a resent identical request gets
it back unchanged). ``ussd_drafts`` keeps a form left unfinished, by phone, so
the next session from that number can offer to continue it. Both hold
personal data only briefly: rows past their timeout are purged whenever a new
session starts. Since m002 that data is sealed under a per-process key (see
``channels.ussd.cipher``): a restart makes every existing row unreadable.
"""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.ussd")


@migrations()
def m001_sessions(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE ussd_sessions (
            session_id TEXT PRIMARY KEY,
            phone TEXT NOT NULL,
            service_code TEXT,
            state TEXT NOT NULL,
            last_text TEXT NOT NULL,
            last_reply TEXT NOT NULL,
            done INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX ussd_sessions_updated ON ussd_sessions(updated_at)")
    db.execute(
        """
        CREATE TABLE ussd_drafts (
            phone TEXT PRIMARY KEY,
            service TEXT NOT NULL,
            fields TEXT NOT NULL,
            position INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX ussd_drafts_updated ON ussd_drafts(updated_at)")


@migrations()
def m002_sealed_sessions(db: sqlite_utils.Database) -> None:
    # Sessions and drafts are sealed under a key that lives only in the
    # serving process (channels/ussd/cipher.py): state, last reply and draft
    # values are ChaCha20-Poly1305 blobs, the aggregator's accumulated text is
    # an HMAC. Rows written before this change held plaintext and could not
    # be opened anyway: they are dropped (at most a few minutes of sessions).
    db.execute("DROP TABLE ussd_sessions")
    db.execute("DROP TABLE ussd_drafts")
    db.execute(
        """
        CREATE TABLE ussd_sessions (
            session_id TEXT PRIMARY KEY,
            phone TEXT NOT NULL,
            service_code TEXT,
            state_sealed BLOB NOT NULL,
            text_mac TEXT NOT NULL,
            reply_sealed BLOB NOT NULL,
            done INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX ussd_sessions_updated ON ussd_sessions(updated_at)")
    db.execute(
        """
        CREATE TABLE ussd_drafts (
            phone TEXT PRIMARY KEY,
            service TEXT NOT NULL,
            fields_sealed BLOB NOT NULL,
            position INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX ussd_drafts_updated ON ussd_drafts(updated_at)")
