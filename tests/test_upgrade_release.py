"""Issue 14: release 0.1.0 (commit e7889f7) upgrades in place with every record intact.

The old release itself fills a node through its channels (``git archive`` of
the commit, run with this venv's packages): SMS, USSD, kiosk and CLI
requests, status changes with sealed notes. The same snapshot script then
reads every request (personal fields opened with the recovery code), every
event (notes opened) and every audit entry, first with the old code, then
after today's code has opened (migrated) the database. The data check here is
the full one; the migration-recognition test is ``test_outbox_upgrade.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SIMPUL

REPO = Path(__file__).resolve().parent.parent
RELEASE_010 = "e7889f7"

FILL = 'import sys, json\nfrom gateway.config import load_config\nfrom gateway.node import Node\nfrom gateway.pipeline import Submission\nfrom gateway import cases\ncfg = load_config(sys.argv[1])\nnode = Node(cfg)\nnode.store\ncode = node.new_recovery_code\nNIKS = ["3201011708900001", "3201011708900002", "3201011708900003", "3201011708900004"]\nrids = []\nfor i, (ch, sender) in enumerate([("sms", "081234567890"), ("ussd", "081298765432"), ("kiosk", None), ("cli", None)]):\n    r = node.pipeline.submit(Submission(channel=ch, service="DOMISILI", values={"nik": NIKS[i], "name": f"Warga Nomor {i}", "address": f"Jl. Mawar {i}"}, sender=sender, locale="id", officer="siti" if ch == "kiosk" else None, channel_message_id=f"M{i}" if ch == "sms" else None))\n    assert r.ok, r.render_problems("en")\n    rids.append(r.request_id if hasattr(r, "request_id") else cases.get_by_code(node.store.read(), r.tracking_code)["id"])\nnode.vault.ready()\nnode.store.write(lambda db: cases.change_status(db, rids[0], "in_progress", actor="siti", note="Berkas lengkap, NIK 3201011708900001", vault=node.vault))\nnode.store.write(lambda db: cases.change_status(db, rids[0], "ready", actor="siti", note=None, vault=node.vault))\nnode.store.write(lambda db: cases.change_status(db, rids[1], "rejected", actor="budi", note="Alamat tidak dikenal", vault=node.vault))\nnode.close()\nprint(code)\n'

SNAPSHOT = 'import sys, json\ntry:\n    from gateway.config.loader import load_config\n    from gateway.privacy import keys\n    from gateway.cases import records as cases\nexcept ImportError:\n    from gateway.config import load_config\n    from gateway import keys, cases\nfrom gateway.node import Node\nnode = Node(load_config(sys.argv[1]))\ndb = node.store.read()\nopener = node.vault.opener(keys.recover(db, sys.argv[2]))\nout = {"requests": [], "events": [], "audit": []}\nfor r in db.query("SELECT * FROM requests ORDER BY seq"):\n    out["requests"].append({k: r[k] for k in ("id", "tracking_code", "service", "channel", "status", "created_at", "locale", "officer")} | {"fields": opener.fields(r)})\n    for e in cases.history(db, r["id"], opener):\n        out["events"].append({k: e[k] for k in ("id", "status", "actor", "at", "note")} | {"request": r["id"]})\nout["audit"] = [dict(r) for r in db.query("SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log ORDER BY seq")]\nnode.close()\nprint(json.dumps(out, sort_keys=True, default=str))\n'


def _run(code: str, *args: str, pythonpath: Path | None, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    env["SIMPUL_SECRET_KEY"] = "upgrade-test"
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
def test_release_010_upgrades_in_place_keeping_every_record(tmp_path):
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", RELEASE_010],
                                                     capture_output=True).returncode != 0:
        pytest.skip(f"release commit {RELEASE_010} not in this checkout")
    old = tmp_path / "release-0.1.0"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", RELEASE_010, "gateway", "channels", "sync",
                              "locales", "kiosk_ui"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    cfg = tmp_path / "config.toml"
    db = tmp_path / "node.db"
    cfg.write_text(f'[storage]\npath = "{db}"\n[jobs]\nenabled = false\n', encoding="utf-8")
    recovery = _run(FILL, str(cfg), pythonpath=old, cwd=old).strip().splitlines()[-1]
    before = json.loads(_run(SNAPSHOT, str(cfg), recovery, pythonpath=old, cwd=old))
    assert len(before["requests"]) == 4 and len(before["events"]) == 7 and before["audit"]
    assert {r["channel"] for r in before["requests"]} == {"sms", "ussd", "kiosk", "cli"}
    # Upgrade in place: today's code opens (and migrates) the same file.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    env["SIMPUL_SECRET_KEY"] = "upgrade-test"
    init = subprocess.run([SIMPUL, "--config", str(cfg), "init-db"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert init.returncode == 0, init.stderr
    after = json.loads(_run(SNAPSHOT, str(cfg), recovery, pythonpath=None, cwd=REPO))
    assert after["requests"] == before["requests"]  # every request, every sealed field opened
    assert after["events"] == before["events"]  # every event, every sealed note
    assert after["audit"][:len(before["audit"])] == before["audit"]  # every audit entry, hash for hash
    verify = subprocess.run([SIMPUL, "--config", str(cfg), "audit", "verify"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert stat.S_IMODE(db.stat().st_mode) == 0o600  # the old 0644 file is tightened
    raw = db.read_bytes()
    assert b"Warga Nomor" not in raw and b"3201011708900001" not in raw
