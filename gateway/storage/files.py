"""Private files and folders: data folders 0700, database and secret files 0600.

The mode is set explicitly after creation, so a permissive umask (022 on most
boxes) never leaves a request database or its WAL readable by other users.
A folder or file that cannot be made is reported as :class:`StorageError`
naming the path and what to do, never as a traceback.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from gateway.errors import SimpulError

SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


class StorageError(SimpulError):
    """The data folder or a file in it cannot be created or written."""


def _unwritable(path: Path, exc: OSError) -> StorageError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "make it writable by this user or set another path in the config"
    else:
        hint = "check the disk and the path set in the config"
    return StorageError(f"cannot write {path}: {reason}; {hint}")


def private_dir(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (and missing parents) as 0700; an existing one is left as it is."""
    folder = Path(folder)
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        for created in reversed(missing):
            created.mkdir(mode=0o700, exist_ok=True)
            os.chmod(created, 0o700)
    except OSError as exc:
        raise _unwritable(missing[-1] if missing else folder, exc) from None
    return folder


def private_file(path: str | os.PathLike) -> Path:
    """Make sure ``path`` exists with mode 0600 (created empty when missing).

    An existing file is only ``chmod``-ed by name, never opened: closing any
    descriptor of a file drops every POSIX lock this process holds on it,
    which would silently break SQLite's locking of an open database.
    """
    path = Path(path)
    private_dir(path.parent)
    try:
        try:
            info = path.stat()
        except FileNotFoundError:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it meanwhile
                info = path.stat()
            else:
                os.fchmod(fd, 0o600)
                os.close(fd)
                return path
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    return path


def private_database(path: str | os.PathLike) -> Path:
    """Prepare a SQLite file 0600 before SQLite opens it.

    SQLite gives the WAL and SHM files the database file's mode, so a 0600
    database keeps its sidecars 0600 too; existing sidecars of an older,
    0644 database are tightened here as well.
    """
    path = private_file(path)
    for suffix in SQLITE_SIDECARS:
        side = Path(f"{path}{suffix}")
        try:
            info = side.stat()
            if info.st_uid == os.geteuid() and info.st_mode & 0o077:
                os.chmod(side, 0o600)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _unwritable(side, exc) from None
    return path


def write_private(path: str | os.PathLike, text: str) -> Path:
    """Write a secret file atomically with mode 0600 (never readable by others, even briefly)."""
    path = Path(path)
    private_dir(path.parent)
    return write_private_bytes(path, text.encode("utf-8"))


def write_private_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` atomically as a 0600 file in an existing folder, left as it is.

    The folder may be a mounted USB stick (sneakernet), whose mode this must
    not change. A temporary name is created fresh (O_EXCL, 0600) and renamed
    over ``path`` after fsync: a reader never sees half a file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    return path
