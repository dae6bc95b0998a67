"""The regional store on one SQLite file: the embedded default (``[regional] database_url`` empty).

Writes go through the node's group-committing :class:`gateway.storage.store.Store`
(WAL, ``synchronous=FULL``), so one process serves many threads; several
processes on one file would fight over its write lock, which is why
``[regional] workers > 1`` is refused on SQLite (:mod:`sync.regional.serve`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from gateway.storage.store import Store, connect
from sync.regional.dbapi import Db, SqliteDb
from sync.regional.migrations import migrations
from sync.regional.sealkeys import RegionalKeys
from sync.regional.store import SqlRegionalStore

T = TypeVar("T")


class SQLiteRegionalStore(SqlRegionalStore):
    engine = "sqlite"

    def __init__(self, path: str | Path, keys: RegionalKeys | None = None):
        self.keys = keys
        self.path = Path(path)
        db = connect(self.path)  # WAL + synchronous=FULL, like the node
        try:
            migrations.apply(db)
        finally:
            db.conn.close()
        self._store = Store(self.path)

    def write(self, job: Callable[[Db], T]) -> T:
        return self._store.write(lambda db: job(SqliteDb(db)))

    def read(self) -> Db:
        return SqliteDb(self._store.read())

    def close(self) -> None:
        self._store.close()
