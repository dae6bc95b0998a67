"""Node-side sync state: read and write the integers in ``sync_state``.

Writes are meant to run inside ``store.write`` jobs, next to the data they
describe (a high-water mark is moved in the same transaction that marks the
rows synced; the pull cursor in the same transaction that applies events).
"""

from __future__ import annotations

import sqlite_utils


def get(db: sqlite_utils.Database, name: str) -> int:
    row = db.execute("SELECT value FROM sync_state WHERE name = ?", [name]).fetchone()
    return int(row[0]) if row else 0


def put(db: sqlite_utils.Database, name: str, value: int) -> None:
    db.execute("INSERT INTO sync_state (name, value) VALUES (?, ?) "
               "ON CONFLICT(name) DO UPDATE SET value = excluded.value", [name, int(value)])


def raise_to(db: sqlite_utils.Database, name: str, value: int) -> None:
    """Move a mark forward only (a late ack can never move it back)."""
    db.execute("UPDATE sync_state SET value = max(value, ?) WHERE name = ?", [int(value), name])


def next_counter(db: sqlite_utils.Database, at_least: int = 0) -> int:
    """The next request id: strictly greater than any used before (and than ``at_least``)."""
    db.execute("UPDATE sync_state SET value = max(value + 1, ?) WHERE name = 'request_counter'",
               [int(at_least)])
    return get(db, "request_counter")
