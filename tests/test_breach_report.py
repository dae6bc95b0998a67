"""`simpul audit breach-report` (UU 27/2022 Pasal 46): what a notice needs, no personal value."""

from __future__ import annotations

import json

from gateway.config.loader import load_config
from gateway.node import Node
from gateway.privacy import audit
from tests.conftest import NIK, run_cli, write_config


def _node_with_traffic(tmp_path):
    cfg = write_config(tmp_path / "config.toml", f'[storage]\npath = "{tmp_path / "simpul.db"}"\n')
    for args in (("DOMISILI", f"nik={NIK}", "name=Siti Aminah", "address=Dusun Krajan RT 02",
                  "--phone", "081234567890"),
                 ("SKTM", f"nik={NIK}", "name=Siti Aminah", "purpose=berobat jantung"),
                 ("ADUAN", "message=lampu jalan mati")):
        result = run_cli("--config", str(cfg), "submit", *args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    # What the kiosk records when an officer looks someone up (tests/test_lookup_audit.py drives the views).
    node = Node(load_config(str(cfg)))
    code = node.store.read().execute("SELECT id FROM requests ORDER BY seq LIMIT 1").fetchone()[0]
    node.store.write(lambda db: audit.record_access(db, actor="kades", via=audit.VIA_QUEUE_SEARCH, by="nik"))
    node.store.write(lambda db: audit.record_access(db, actor="budi", via=audit.VIA_DETAIL, subject=code))
    node.close()
    return cfg


def test_json_report_counts_categories_and_sealing_without_values(tmp_path):
    cfg = _node_with_traffic(tmp_path)
    result = run_cli("--config", str(cfg), "audit", "breach-report", "--since", "2020-01-01", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["requests_held"] == 3 and report["requests_sealed"] == 3
    assert report["categories"] == {"nik": 2, "name": 2, "address": 1, "free_text": 2, "phone": 1}
    assert report["clear_personal_values"] == 0
    assert report["phones_in_clear"] == 1 and "phone_numbers" in report["disk_exposes"]
    assert [(a["actor"], a["via"], a["by"]) for a in report["accesses"]] == [
        ("kades", "queue_search", "nik"), ("budi", "detail_view", None)]
    assert report["accesses"][1]["tracking_code"] and report["accesses"][0]["tracking_code"] is None
    for secret in (NIK, "Siti", "Krajan", "berobat", "lampu", "81234567890"):
        assert secret not in result.stdout


def test_text_report_ends_with_an_indonesian_notice(tmp_path):
    cfg = _node_with_traffic(tmp_path)
    result = run_cli("--config", str(cfg), "audit", "breach-report", "--since", "2020-01-01", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Pasal 46" in result.stdout and "3 x 24" in result.stdout
    assert "Kepada:" in result.stdout and "Narahubung:" in result.stdout
    assert "NIK" in result.stdout and "Siti" not in result.stdout


def test_window_limits_accesses_and_bad_dates_exit_2(tmp_path):
    cfg = _node_with_traffic(tmp_path)
    later = run_cli("--config", str(cfg), "audit", "breach-report", "--since", "2999-01-01", "--json", cwd=tmp_path)
    assert later.returncode == 0 and json.loads(later.stdout)["accesses"] == []
    bad = run_cli("--config", str(cfg), "audit", "breach-report", "--since", "kemarin", cwd=tmp_path)
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr


def test_inbox_questions_count_as_personal_data_without_their_text(tmp_path):
    from gateway.inbox import actions, threads

    cfg = _node_with_traffic(tmp_path)
    node = Node(load_config(str(cfg)))
    for i, (phone, text) in enumerate([("+6281311112222", "kapan kantor buka, anak saya sakit"),
                                       ("+6281311112222", "terima kasih"), ("+6281399998888", "KTP saya hilang")]):
        prepared = actions.prepare(node, text)
        node.store.write(lambda db, p=prepared, ph=phone, n=i: threads.receive(
            db, uid=p.uid, phone=ph, kind="question", message_id=f"SM{n}", sealed=p.sealed))
    node.close()
    result = run_cli("--config", str(cfg), "audit", "breach-report", "--since", "2020-01-01", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["categories"]["inbox"] == 3
    assert (report["inbox_messages"], report["inbox_texts_in_clear"], report["inbox_phones_in_clear"]) == (3, 0, 2)
    assert "inbox_texts" not in report["disk_exposes"] and "phone_numbers" in report["disk_exposes"]
    text = run_cli("--config", str(cfg), "audit", "breach-report", "--since", "2020-01-01", cwd=tmp_path)
    assert "kotak masuk" in text.stdout and "3 pesan" in text.stdout
    for secret in ("anak saya sakit", "KTP saya hilang", "1311112222", "1399998888"):
        assert secret not in result.stdout and secret not in text.stdout
