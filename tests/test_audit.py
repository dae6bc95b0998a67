import sqlite3

import pytest

from gateway.cases import records as cases
from gateway.intake.pipeline import Submission
from gateway.privacy import audit
from gateway.storage.store import connect
from tests.conftest import NIK, run_cli


def _submit(node, officer="ani"):
    return node.pipeline.submit(Submission("kiosk", "DOMISILI", {"nik": NIK, "name": "Siti", "address": "Krajan"},
                                           officer=officer))


def test_actions_are_chained_and_verify(node):
    receipt = _submit(node)
    rid = receipt.request["id"]
    node.store.write(lambda db: cases.change_status(db, rid, "ready", actor="ani"))
    node.store.write(lambda db: cases.change_status(db, rid, "ready", actor="budi", note="ditelepon"))
    rows = list(node.store.read().query("SELECT actor, action, subject, details FROM audit_log ORDER BY seq"))
    assert [r["action"] for r in rows] == ["config_change", "submit", "status_change", "note"]
    assert rows[1]["actor"] == "ani" and rows[3]["actor"] == "budi" and rows[2]["subject"] == rid
    joined = " ".join(r["details"] for r in rows)
    assert NIK not in joined and "Siti" not in joined and "ditelepon" not in joined
    verdict = audit.verify(node.store.read())
    assert verdict.ok and verdict.entries == 4 and verdict.head == audit.head(node.store.read())[1]


def test_citizen_channels_are_not_officer_actions(node):
    node.pipeline.submit(Submission("sms", "ADUAN", {"message": "x"}))
    assert [r[0] for r in node.store.read().execute("SELECT action FROM audit_log")] == ["config_change"]


def test_update_and_delete_refused(node):
    _submit(node)
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError):
            node.store.write(lambda db, sql=sql: db.execute(sql))


def _tamper(path, sql):
    db = connect(path)
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute(sql)
    db.conn.close()


@pytest.mark.parametrize("sql,seq,reason", [
    ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", 2, "content does not match"),
    ("DELETE FROM audit_log WHERE seq = 2", 3, "missing"),
    ("UPDATE audit_log SET prev_hash = hash WHERE seq = 3", 3, "does not link"),
])
def test_rewritten_history_is_detected_by_cli(tmp_path, node, config, sql, seq, reason):
    rid = _submit(node).request["id"]
    node.store.write(lambda db: cases.change_status(db, rid, "ready", actor="ani"))
    node.close()
    (tmp_path / "config.toml").write_text(f'[storage]\npath = "{config["storage.path"]}"\n[jobs]\nenabled = false\n'
                                        '[node]\ndefault_locale = "en"\n')
    assert run_cli("audit", "verify", cwd=tmp_path).returncode == 0
    _tamper(config["storage.path"], sql)
    result = run_cli("audit", "verify", cwd=tmp_path)
    assert result.returncode == 1
    assert f"BROKEN at entry {seq}:" in result.stderr and reason in result.stderr


def test_config_change_recorded_once_per_change(tmp_path, config):
    from gateway.config.loader import load_config
    from gateway.node import Node

    Node(config).store.close()
    Node(config).store.close()
    changed = load_config(overrides={"storage": {"path": config["storage.path"]}, "jobs": {"enabled": False},
                                     "http": {"port": 9999}})
    n = Node(changed)
    rows = list(n.store.read().query("SELECT details FROM audit_log WHERE action = 'config_change' ORDER BY seq"))
    n.close()
    assert [r["details"] for r in rows] == ['{"changed":["initial"]}', '{"changed":["http.port"]}']


def test_kiosk_logins_logouts_and_officer_changes_are_audited(app, node):
    from channels.kiosk import accounts
    from tests.kiosk_support import login

    node.store.write(lambda db: accounts.add_officer(db, "ani", "kata-sandi-8", "admin"))
    client = app.test_client()
    login(client, "ani", "salah-sandi-9")
    response = login(client, "ani", "kata-sandi-8")
    assert response.status_code in (302, 303)
    rows = list(node.store.read().query("SELECT actor, action, subject FROM audit_log ORDER BY seq"))
    actions = [(r["actor"], r["action"]) for r in rows]
    assert ("cli", "officer_added") in actions
    assert actions[-2:] == [("ani", "login_failed"), ("ani", "login")]
    assert "kata-sandi" not in str(list(node.store.read().query("SELECT * FROM audit_log")))
    assert audit.verify(node.store.read()).ok
