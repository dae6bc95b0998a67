"""The durable store: SQLite in WAL mode with ``synchronous=FULL``.

A citizen who was told "received" must never lose the request, so every write
that precedes a reply is committed with a full fsync before the reply is sent.
fsync is the expensive part, so writes go through one writer thread that
*group-commits*: whatever jobs are waiting when it starts a transaction are
run in that one transaction (each in its own savepoint, so one failing job
does not undo another), committed once, and only then are their callers
released. Readers use their own per-thread connections; WAL lets them read
while the writer writes.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

T = TypeVar("T")
MAX_BATCH = 256
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


def connect(path: str | Path) -> sqlite_utils.Database:
    """A connection with the durability pragmas every writer must use."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return sqlite_utils.Database(conn)


class _Job:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn: Callable[[sqlite_utils.Database], Any]):
        self.fn = fn
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class GroupWriter:
    """One thread that owns the write connection and commits jobs in groups."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.commits = 0  # counted for benchmarks and tests
        self.jobs = 0

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="simpul-writer", daemon=True)
                self._thread.start()

    def submit(self, fn: Callable[[sqlite_utils.Database], T]) -> T:
        """Run ``fn(db)`` inside a committed transaction; return its result."""
        job = _Job(fn)
        self._ensure_started()
        self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=10)

    def _run(self) -> None:
        db = connect(self.path)
        conn = db.conn
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._queue.put(None)  # finish this batch, then stop
                        break
                    batch.append(nxt)
                self._commit(db, conn, batch)
        finally:
            conn.close()

    def _commit(self, db: sqlite_utils.Database, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            for job in batch:
                job.error = exc
                job.done.set()
            return
        for job in batch:
            try:
                conn.execute("SAVEPOINT job")
                job.result = job.fn(db)
                conn.execute("RELEASE job")
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                job.error = exc
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK TO job")
                        conn.execute("RELEASE job")
                    except sqlite3.Error:
                        pass
        try:
            if conn.in_transaction:
                conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            # Nothing in this batch is durable: every caller must hear so,
            # so a webhook answers 5xx and the provider retries.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for job in batch:
                if job.error is None:
                    job.error, job.result = exc, None
        self.jobs += len(batch)
        for job in batch:
            job.done.set()


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
    from gateway.schema import migrate

    db = connect(path)
    try:
        migrate(db)
    finally:
        db.conn.close()
    return Store(path)
