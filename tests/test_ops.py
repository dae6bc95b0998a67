"""Issue 14: doctor, backup/restore, systemd units and install-service."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NIK, SIMPUL, write_config
from tests.syncenv import clean_env, free_port
from tests.test_deploy_config import _start_serve, _wait_listening

ROOT = Path(__file__).resolve().parent.parent


def cli(cfg: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SIMPUL, "--config", str(cfg), *args], env=clean_env(env), capture_output=True,
                          text=True, timeout=120, cwd=cfg.parent)


@pytest.fixture
def site(tmp_path):
    cfg = write_config(tmp_path / "config.toml", '[storage]\npath = "var/simpul.db"\n[node]\ndefault_locale = "en"\n'
                       '[jobs]\nenabled = false\n')
    init = cli(cfg, "init-db")
    assert init.returncode == 0, init.stderr
    return cfg


def doctor(cfg: Path) -> tuple[int, dict[str, dict]]:
    out = cli(cfg, "doctor", "--json")
    data = json.loads(out.stdout)
    return out.returncode, {c["name"]: c for c in data["checks"]}


def test_doctor_on_a_healthy_serving_node(site):
    port = free_port()
    proc = _start_serve(site, port)
    try:
        _wait_listening(port, proc)
        code, checks = doctor(site)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    for name in ("config", "database", "disk", "permissions", "clock", "keys", "lock", "outbox"):
        assert checks[name]["status"] == "ok", checks[name]
    assert str(proc.pid) in checks["lock"]["detail"]
    assert code == 0 or any(c["status"] == "warn" for c in checks.values())  # sms: no provider is a warning
    text = cli(site, "doctor")
    assert "database" in text.stdout and "ok" in text.stdout.lower()


def test_doctor_on_a_broken_node(site, tmp_path):
    db = tmp_path / "var" / "simpul.db"
    os.chmod(db, 0o644)
    code, checks = doctor(site)
    assert checks["permissions"]["status"] == "fail" and "chmod 600" in checks["permissions"]["fix"]
    assert checks["lock"]["status"] == "warn"
    assert code == 2
    # A damaged page: quick_check fails.
    os.chmod(db, 0o600)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = bytearray(db.read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    for k in range(1, len(raw) // page):  # every b-tree page gets a page type that does not exist
        raw[page * k] = 0x07
    db.write_bytes(bytes(raw))
    code, checks = doctor(site)
    assert checks["database"]["status"] == "fail" and code == 2
    # A config that does not load: one failing check, exit 2.
    site.write_text('[http]\nport = 99999\n')
    code, checks = doctor(site)
    assert code == 2 and checks["config"]["status"] == "fail" and "http.port" in checks["config"]["detail"]


def test_doctor_clock_before_the_release(site):
    import datetime as dt

    from gateway.config.loader import load_config
    from gateway.ops import doctor as doc

    checks = {c.name: c for c in doc.core_checks(load_config(site), now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))}
    assert checks["clock"].status == "fail"


def _submit(cfg: Path) -> str:
    out = cli(cfg, "submit", "DOMISILI", f"nik={NIK}", "name=Siti Aminah", "address=Jl. Mawar 1")
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_backup_while_serving_then_restore_refused_while_serving_then_restored(site, tmp_path):
    code = _submit(site)
    port = free_port()
    proc = _start_serve(site, port)
    backups = tmp_path / "stick"
    backups.mkdir()
    try:
        _wait_listening(port, proc)
        done = cli(site, "backup", str(backups))
        assert done.returncode == 0, done.stderr
        [copy] = list(backups.glob("simpul-*.db"))
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        raw = copy.read_bytes()
        assert NIK.encode() not in raw and b"Siti Aminah" not in raw  # stays sealed
        refused = cli(site, "restore", str(copy))
        assert refused.returncode == 2 and str(proc.pid) in refused.stderr and "Traceback" not in refused.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    later = _submit(site)
    assert later != code
    restored = cli(site, "restore", str(copy))
    assert restored.returncode == 0, restored.stderr
    listed = json.loads(cli(site, "requests", "--json").stdout)
    assert [r["tracking_code"] for r in listed] == [code]
    assert list((tmp_path / "var").glob("simpul.db.before-restore-*"))
    assert cli(site, "audit", "verify").returncode == 0
    # A file that is no Simpul database is refused and nothing changes.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    bad = cli(site, "restore", str(junk))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert [r["tracking_code"] for r in json.loads(cli(site, "requests", "--json").stdout)] == [code]


UNITS = ("simpul-node.service", "simpul-regional.service", "simpul-gammu-smsd.service")


@pytest.mark.parametrize("unit", UNITS)
def test_units_have_restart_user_state_journal_and_hardening(unit):
    text = (ROOT / "deploy" / unit).read_text()
    for line in ("Restart=on-failure", "User=simpul", "StateDirectory=simpul", "StandardError=journal",
                 "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "UMask=0077"):
        assert line in text, (unit, line)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed here")
def test_install_service_writes_units_that_systemd_accepts(tmp_path):
    root = tmp_path / "root"
    for args in ([], ["--regional"]):
        out = subprocess.run([SIMPUL, "install-service", "--root", str(root), *args], env=clean_env(),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "systemctl enable --now" in out.stdout
    units = sorted((root / "etc/systemd/system").iterdir())
    assert [u.name for u in units] == sorted(UNITS)
    for unit in units:
        text = unit.read_text()
        assert "/opt/simpul/.venv/bin/simpul" not in text
        if "gammu" not in unit.name:
            assert re.search(r"ExecStart=/\S+/simpul ", text)
        verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
        complaints = [line for line in (verify.stdout + verify.stderr).splitlines() if unit.name in line]
        assert verify.returncode == 0 and not complaints, complaints
    assert stat.S_IMODE((root / "var/lib/simpul").stat().st_mode) == 0o700
    assert (root / "etc/simpul/gammu-smsdrc").exists() and (root / "etc/simpul/config.toml").exists()
