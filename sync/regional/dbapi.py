"""One small interface over SQLite and PostgreSQL connections, so the store's SQL is written once.

The store's statements use ``?`` placeholders and SQL both engines accept
(``ON CONFLICT``, ``RETURNING``); :class:`PgDb` turns ``?`` into psycopg's
``%s``. Only what differs in kind (batch ingest with COPY, partitions, the
key tables) lives in the PostgreSQL store itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import sqlite_utils


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Sequence[Any] | None: ...
    def fetchall(self) -> list[Sequence[Any]]: ...


class Db(Protocol):
    """What a store job gets: execute, query (rows as dicts), executemany."""

    engine: str

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor: ...
    def query(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class SqliteDb:
    engine = "sqlite"

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        return self.db.execute(sql, list(args))

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, list(args)))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.conn.executemany(sql, list(rows))


def pg_sql(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (a literal ``%`` doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgDb:
    engine = "postgresql"

    def __init__(self, conn: Any):  # psycopg.Connection
        self.conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(pg_sql(sql), list(args))

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(pg_sql(sql), list(args))
            return cur.fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(pg_sql(sql), rows)
