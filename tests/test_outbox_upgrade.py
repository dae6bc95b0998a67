"""A database made before the outbox moved to the core upgrades in place.

The previous release (the last main before the parts refactor) made ``outbound``
through the sms part's set ``simpul.channels``; today the core set makes it.
The old code itself builds the database here (``git archive`` of that commit
run in a subprocess), so the test checks what a real node on disk holds.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from gateway.outbox.queue import enqueue, list_outbound
from gateway.storage.schema import migrate, pending
from tests.release_support import unpack_release

MAKE_OLD_DB = """
import sys, sqlite_utils
from gateway.schema import migrate
db = sqlite_utils.Database(sys.argv[1])
migrate(db)
db.execute('INSERT INTO outbound (key, "to", body, kind, status, next_attempt_at, created_at, updated_at, '
           "provider, last_attempt_at) VALUES ('status:old', '+6281234567890', 'old body', 'notification', "
           "'sent', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'gammu', "
           "'2026-01-01T00:00:01Z')")
db.conn.commit()
"""


def _columns(db: sqlite_utils.Database) -> list[tuple]:
    return sorted((c.name, c.type, c.notnull, c.default_value) for c in db["outbound"].columns)


def _indexes(db: sqlite_utils.Database) -> set[str]:
    return {i.name for i in db["outbound"].indexes}


@pytest.fixture(scope="module")
def old_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = unpack_release(tmp_path_factory.mktemp("old_src"), "gateway", "channels", "sync")
    path = tmp_path_factory.mktemp("old_db") / "simpul.db"
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-c", MAKE_OLD_DB, str(path)], cwd=src, env=env, check=True)
    return path


def test_old_database_upgrades_and_keeps_its_messages(old_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "simpul.db"
    shutil.copy(old_db, copy)
    db = sqlite_utils.Database(copy)
    applied = {(r["migration_set"], r["name"]) for r in db["_sqlite_migrations"].rows}
    assert ("simpul.channels", "m001_outbound") in applied  # made by the old code
    migrate(db)
    assert pending(db) == []
    [old] = list_outbound(db)
    assert (old["key"], old["body"], old["status"], old["provider"]) == ("status:old", "old body", "sent", "gammu")
    assert enqueue(db, to="+6281111111111", body="new", key="status:new")
    fresh = sqlite_utils.Database(tmp_path / "fresh.db")
    migrate(fresh)
    assert _columns(db) == _columns(fresh)
    assert _indexes(db) == _indexes(fresh)


def test_fresh_database_gets_outbound_from_the_core_set(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "fresh.db")
    migrate(db)
    core = {r["name"] for r in db["_sqlite_migrations"].rows_where("migration_set = ?", ["simpul.gateway"])}
    assert "m009_outbound" in core
    assert {"last_attempt_at", "sent_at", "provider_status", "error_code"} <= {c.name for c in db["outbound"].columns}
    migrate(db)  # idempotent: a second start changes nothing
    assert pending(db) == []
    with pytest.raises(sqlite3.IntegrityError):
        db.execute('INSERT INTO outbound (key, "to", body, next_attempt_at, created_at, updated_at) '
                   "VALUES (NULL, 'x', 'y', 'a', 'b', 'c')")
