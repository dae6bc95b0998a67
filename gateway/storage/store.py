"""The durable store: SQLite in WAL mode with ``synchronous=FULL``.

A citizen who was told "received" must never lose the request, so every write
that precedes a reply is committed with a full fsync before the reply is sent.
fsync is the expensive part, so writes go through one writer per process that
*group-commits*: whatever jobs are waiting when it starts a transaction are
run in that one transaction (each in its own savepoint, so one failing job
does not undo another), committed once, and only then are their callers
released. Readers use their own per-thread connections; WAL lets them read
while the writer writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from gateway.storage.files import StorageError, private_database

T = TypeVar("T")
MAX_BATCH = 256
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    # Savepoint (statement) journals in memory, not temp files: one group
    # commit holds many savepoints and each would open and unlink a file.
    "PRAGMA temp_store=MEMORY",
    # After a disk-full episode the WAL may have grown large; give the space
    # back to the operator once it is checkpointed (16 MiB kept).
    "PRAGMA journal_size_limit=16777216",
    # Freed cells are zeroed: a purged phone number or an overwritten USSD
    # session must not linger in free pages of a stolen disk.
    "PRAGMA secure_delete=ON",
)


def connect(path: str | Path) -> sqlite_utils.Database:
    """A connection with the durability pragmas every writer must use.

    The folder is made 0700 and the file 0600 first (``gateway.storage.files``);
    a folder SQLite cannot write (no WAL file) is a :class:`StorageError`
    naming it, not a traceback.
    """
    path = Path(path)
    private_database(path)
    try:
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        try:
            for pragma in PRAGMAS:
                conn.execute(pragma)
        except sqlite3.OperationalError:
            conn.close()
            raise
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise
        raise StorageError(f"cannot write {path.parent}: {exc}; make the folder writable by this "
                           "user or point storage.path elsewhere") from None
    return sqlite_utils.Database(conn)


class _Job:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn: Callable[[sqlite_utils.Database], Any]):
        self.fn = fn
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class GroupWriter:
    """Leader/follower group commit on one write connection.

    A caller queues its job, then takes the leader lock. Whoever holds it
    drains every queued job into one transaction and commits once; callers
    that queued meanwhile find their job already done when they get the lock.
    No extra thread: an uncontended write costs one lock and one commit,
    and under load the batch grows by itself while the leader fsyncs.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._pending: deque[_Job] = deque()
        self._leader = threading.Lock()
        self._db: sqlite_utils.Database | None = None
        self.commits = 0  # counted for benchmarks and tests
        self.jobs = 0

    def submit(self, fn: Callable[[sqlite_utils.Database], T]) -> T:
        """Run ``fn(db)`` inside a committed transaction; return its result."""
        job = _Job(fn)
        self._pending.append(job)
        while not job.done:
            with self._leader:
                if job.done:
                    break
                batch = []
                while self._pending and len(batch) < MAX_BATCH:
                    batch.append(self._pending.popleft())
                if batch:
                    self._commit(batch)
        if job.error is not None:
            raise job.error
        return job.result

    def close(self) -> None:
        with self._leader:
            if self._db is not None:
                self._db.conn.close()
                self._db = None

    def _connection(self) -> sqlite_utils.Database:
        if self._db is None:
            self._db = connect(self.path)
        return self._db

    def _commit(self, batch: list[_Job]) -> None:
        try:
            db = self._connection()
            conn = db.conn
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._finish(batch, exc)
            return
        alone = len(batch) == 1  # no neighbour to protect: the transaction is the savepoint
        for job in batch:
            try:
                if not alone:
                    conn.execute("SAVEPOINT job")
                job.result = job.fn(db)
                if not alone:
                    conn.execute("RELEASE job")
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                job.error = exc
                if conn.in_transaction:
                    try:
                        if alone:
                            conn.execute("ROLLBACK")
                        else:
                            conn.execute("ROLLBACK TO job")
                            conn.execute("RELEASE job")
                    except sqlite3.Error:
                        pass
        try:
            if conn.in_transaction:
                conn.execute("COMMIT")
            self.commits += 1
            self._finish(batch, None)
        except sqlite3.Error as exc:
            # Nothing in this batch is durable: every caller must hear so,
            # so a webhook answers 5xx and the provider retries.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._finish(batch, exc)

    def _finish(self, batch: list[_Job], error: BaseException | None) -> None:
        self.jobs += len(batch)
        for job in batch:
            if error is not None and job.error is None:
                job.error, job.result = error, None
            job.done = True


class Store:
    """Reads on per-thread connections; writes through the group writer."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()
        self.writer = GroupWriter(self.path)

    def read(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
        return db

    def write(self, fn: Callable[[sqlite_utils.Database], T]) -> T:
        return self.writer.submit(fn)

    def close(self) -> None:
        self.writer.close()
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None


def open_store(path: str | Path) -> Store:
    """Migrate the database at ``path`` to the current schema and open it."""
    from gateway.storage.schema import migrate

    db = connect(path)
    try:
        migrate(db)
    finally:
        db.conn.close()
    return Store(path)
