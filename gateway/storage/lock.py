"""One serving node per database: an OS file lock next to the database.

``flock`` locks belong to the open file; the kernel drops them when the
process dies, even by ``kill -9``, so a crash never leaves a stale lock to
clean up by hand. The holder writes its PID into the file so a second
``simpul serve`` can say who holds it. Only ``serve`` (and ``restore``, which
must not replace a database under a running node) take the lock; the other
CLI commands keep working beside a running node, as SQLite's WAL allows.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from gateway.errors import SimpulError
from gateway.storage.files import private_file


class AlreadyRunning(SimpulError):
    """Another process holds this database's node lock."""

    def __init__(self, path: Path, pid: int | None):
        who = f"process {pid}" if pid else "another process"
        super().__init__(f"{path} is in use by {who} (a running `simpul serve`); "
                         "stop it first or give this one another storage.path")
        self.pid = pid


def lock_path(db_path: str | os.PathLike) -> Path:
    return Path(f"{db_path}.lock")


def holder(db_path: str | os.PathLike) -> int | None:
    """PID of the process holding the lock, or None when nobody does."""
    path = lock_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(path) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


class NodeLock:
    """Hold the database's lock for the life of this object (or process)."""

    def __init__(self, db_path: str | os.PathLike):
        self.path = lock_path(db_path)
        self._fd: int | None = None

    def acquire(self) -> NodeLock:
        private_file(self.path)
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(Path(str(self.path)[: -len(".lock")]), _read_pid(self.path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> NodeLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
