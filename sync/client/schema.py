"""Schema owned by the `sync` package (its own migration set): the node's sync state.

``sync_state`` holds small integers the protocol needs to survive a power cut:
the high-water marks of what the server confirmed, the pull cursor, the
request counter that signs every request (it must never go back, or the
server refuses us as a replay) and the adapted batch size.
"""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.sync")

STATE_KEYS = ("requests_hwm", "events_hwm", "pull_cursor", "request_counter", "batch_size",
              "catalog_version")


@migrations()
def m001_sync_state(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE sync_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO sync_state (name, value) VALUES "
               + ", ".join(f"('{k}', 0)" for k in STATE_KEYS))


@migrations()
def m002_audit_hwm(db: sqlite_utils.Database) -> None:
    # The last audit_log seq the regional server acknowledged (signed, after
    # its commit); the audit stage sends what lies above it.
    db.execute("INSERT INTO sync_state (name, value) VALUES ('audit_hwm', 0) ON CONFLICT(name) DO NOTHING")
