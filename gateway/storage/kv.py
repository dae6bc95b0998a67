"""Small facts about this node (``last_sync_at``, ``catalog_toml``, one-off migration flags).

The ``kv`` table is the core's; every package reads and writes it through
these two functions, never with its own SQL.
"""

from __future__ import annotations

import sqlite_utils


def put(db: sqlite_utils.Database, key: str, value: str) -> None:
    """Set ``key``; run inside a write job."""
    db.execute("INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [key, value])


def get(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM kv WHERE key = ?", [key]).fetchone()
    return row[0] if row else default
