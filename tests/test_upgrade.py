"""A database made by the previous release (commit e7889f7) opens with today's code.

The old release is unpacked from git and run as a real CLI (same interpreter,
its own tree first on PYTHONPATH) to make a node database with requests, an
inbound SMS and its reply, a stored language and an officer. Today's code must
recognise every migration that database recorded (same set and name: nothing
re-runs) and keep every row.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config.loader import load_config
from gateway.node import Node
from gateway.storage import schema
from tests.release_support import unpack_release

PHONE = "+6281234567890"
TABLES = ("requests", "status_events", "contacts", "audit_log", "outbound", "sms_inbound", "officers",
          "node_keys", "key_holders", "key_grants")

pytestmark = pytest.mark.slow


def _old(cfg: Path, *args: str, env: dict[str, str], stdin: str | None = None):
    return subprocess.run([sys.executable, "-c", "from gateway.cli import run; run()", "--config", str(cfg), *args],
                          cwd=cfg.parent, env=env, input=stdin, text=True, capture_output=True, timeout=120,
                          check=True)


@pytest.fixture(scope="module")
def old_db(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("upgrade")
    tree = unpack_release(work / "release")
    db = work / "node.db"
    inbox = work / "inbox"
    inbox.mkdir()
    cfg = work / "config.toml"
    cfg.write_text(f'[storage]\npath = "{db}"\n[jobs]\nenabled = false\n[sms.gammu]\ninbox_path = "{inbox}"\n',
                   encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    env.update(PYTHONPATH=str(tree), SIMPUL_SECRET_KEY="upgrade-test")
    init = _old(cfg, "init-db", env=env)
    env["SIMPUL_RECOVERY_CODE"] = re.search(r"[0-9A-Z]{5}(?:-[0-9A-Z]{1,5}){4,}", init.stderr).group(0)
    _old(cfg, "officer", "add", "siti", "--role", "admin", "--password-stdin", env=env,
         stdin="kata-sandi-rahasia\n")
    _old(cfg, "submit", "ADUAN", "message=jalan rusak di RT 02", "--phone", PHONE, env=env)
    (inbox / f"IN20261123_120000_00_{PHONE}_00.txt").write_bytes("BAHASA EN".encode("utf-16"))
    _old(cfg, "sms", "gammu-receive", f"IN20261123_120000_00_{PHONE}_00.txt", env=env)
    return db


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _applied(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return set(conn.execute("SELECT migration_set, name FROM _sqlite_migrations").fetchall())


def test_the_old_release_made_a_real_database(old_db):
    counts = _counts(old_db)
    assert counts["requests"] == 1 and counts["sms_inbound"] == 1 and counts["officers"] == 1
    assert counts["contacts"] == 1 and counts["outbound"] >= 1


def test_every_old_migration_is_recognised_and_no_row_is_lost(old_db, tmp_path):
    copy = tmp_path / "node.db"
    shutil.copy(old_db, copy)
    before_counts, before_applied = _counts(copy), _applied(copy)
    import sqlite_utils

    empty = sqlite_utils.Database(memory=True)
    known = {(m.name, p.name) for m in schema.migration_sets() for p in m.pending(empty)}
    assert before_applied <= known, f"migrations renamed or lost: {sorted(before_applied - known)}"
    with sqlite_utils.Database(copy) as db:
        pending = {tuple(p.split(":", 1)) for p in schema.pending(db)}
    assert not pending & before_applied, f"would re-run: {sorted(pending & before_applied)}"
    node = Node(load_config(overrides={"storage": {"path": str(copy)}, "jobs": {"enabled": False}}, environ={}))
    try:
        assert schema.pending(node.store.read()) == []
        row = node.store.read().execute("SELECT tracking_code, status FROM requests").fetchone()
        assert row[1] == "received" and node.pipeline.locale_for(PHONE) == "en"
    finally:
        node.close()
    after = _applied(copy)
    assert before_applied <= after and after - before_applied == pending  # only today's new ones ran
    after_counts = _counts(copy)
    # The audit log is append-only: opening the node may add (a config_change entry), never remove.
    assert after_counts.pop("audit_log") >= before_counts.pop("audit_log")
    assert after_counts == before_counts
