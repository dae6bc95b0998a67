"""``simpul backup DEST`` and ``simpul restore SRC``: whole-database copies that stay sealed.

Backups use SQLite's online backup API, so a running node keeps serving and
the copy is consistent (one snapshot, WAL included). Personal fields are
sealed in the database, so the copy is exactly as safe as the disk it is on;
it is written 0600. Restore refuses while a ``simpul serve`` holds the
database (``gateway.storage.lock``), holds the lock itself while it works so
no serve can start mid-way, keeps the replaced database beside it, and
copies with the same API into the live file (SQLite then handles the WAL).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from gateway import clock
from gateway.errors import SimpulError
from gateway.storage.files import private_database, private_dir
from gateway.storage.lock import NodeLock

PAGES_PER_STEP = 1024


class BackupError(SimpulError):
    """The copy could not be made or checked; nothing was replaced."""


def _stamp() -> str:
    return clock.utcnow().replace("-", "").replace(":", "")


def _check(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
            has_requests = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'requests'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: not a readable Simpul database ({exc})") from None
    if result != "ok":
        raise BackupError(f"{path}: integrity check failed ({result})")
    if not has_requests:
        raise BackupError(f"{path}: not a Simpul node database (no requests table)")


def _copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst, pages=PAGES_PER_STEP)
    finally:
        dst.close()
        src.close()


def backup(db_path: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy the database to ``dest`` (a file, or a folder to put a dated file in); return the file."""
    db, dest = Path(db_path), Path(dest)
    if not db.exists():
        raise BackupError(f"no database at {db}: nothing to back up")
    target = dest / f"simpul-{_stamp()}.db" if dest.is_dir() else dest
    if target.exists():
        raise BackupError(f"{target} exists: choose another name (a backup never overwrites)")
    private_dir(target.parent)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    private_database(partial)
    try:
        _copy(db, partial)
        _check(partial)
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup to {target} failed: {exc}") from None
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    return target


def restore(source: str | os.PathLike, db_path: str | os.PathLike) -> Path | None:
    """Replace the node's database with the backup at ``source``; return the kept old copy (or None).

    Raises ``gateway.storage.lock.AlreadyRunning`` while a serve runs.
    """
    source, db = Path(source), Path(db_path)
    _check(source)
    with NodeLock(db):
        kept = None
        if db.exists():
            kept = db.with_name(f"{db.name}.before-restore-{_stamp()}")
            backup(db, kept)
        private_database(db)
        try:
            _copy(source, db)
        except sqlite3.Error as exc:
            raise BackupError(f"restore from {source} failed: {exc}") from None
        _check(db)
    return kept
