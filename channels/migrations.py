"""Schema owned by the ``channels`` package (its own migration set)."""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.channels")


@migrations()
def m001_outbound(db: sqlite_utils.Database) -> None:
    # Every SMS the node sends is first a row here (durable with the event
    # that caused it); `key` makes enqueueing idempotent so a retried job or
    # a re-applied sync event can never send the same notification twice.
    db.execute(
        """
        CREATE TABLE outbound (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            "to" TEXT NOT NULL,
            body TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'notification',
            request_id TEXT,
            status TEXT NOT NULL DEFAULT 'queued',
            provider TEXT,
            provider_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX outbound_due ON outbound(status, next_attempt_at)")
