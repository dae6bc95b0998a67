"""Delivery states visible: the kiosk's request page, `simpul outbox`, and `simpul sms doctor`."""

from __future__ import annotations

import datetime as dt
import json

from gateway import clock
from gateway.intake.pipeline import Submission
from gateway.outbox import delivery, states
from gateway.outbox import queue as outbound
from tests.conftest import NIK, run_cli, write_config
from tests.kiosk_support import add_officer, login

PHONE = "+6281234567890"
VALUES = {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}


def request_with_messages(node):
    receipt = node.pipeline.submit(Submission("sms", "DOMISILI", VALUES, sender=PHONE, channel_message_id="m1"))
    rid = receipt.request["id"]
    for n, (status, provider_id) in enumerate((("queued", None), ("delivered", "p1"), ("failed", "p2"),
                                               ("sent", "p3"), ("sent", "p4"))):
        node.store.write(lambda db, n=n: outbound.enqueue(db, to=PHONE, body=f"m{n}", key=f"k{n}", request_id=rid))
        if status == "queued":
            continue
        row = node.store.write(lambda db: delivery.claim_next(db, "android", 100))
        node.store.write(lambda db, r=row, p=provider_id: delivery.mark_sent(db, r["id"], p))
        if status != "sent":
            delivery.apply_callback(node.store, provider="android", provider_id=provider_id, status=status,
                                    error_code="RESULT_ERROR_NO_SERVICE" if status == "failed" else None)
    # The last one was handed over two days ago and never reported.
    old = clock.to_iso(clock.now() - dt.timedelta(hours=48))
    node.store.write(lambda db: db.execute("UPDATE outbound SET sent_at = ? WHERE provider_id = 'p4'", [old]))
    return receipt.tracking_code, rid


def test_stuck_means_sent_long_ago_without_a_final_report():
    now = clock.now()
    long_ago = clock.to_iso(now - dt.timedelta(hours=25))
    assert states.stuck({"status": "sent", "sent_at": long_ago}, now)
    assert not states.stuck({"status": "sent", "sent_at": clock.to_iso(now - dt.timedelta(hours=23))}, now)
    assert not states.stuck({"status": "delivered", "sent_at": long_ago}, now)
    assert not states.stuck({"status": "queued", "sent_at": None}, now)


def test_kiosk_request_page_shows_each_state_and_flags_the_stuck_one(client, node):
    code, _rid = request_with_messages(node)
    add_officer(node)
    login(client)
    html = client.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    section = html[html.index("sms-states"):]
    for word in ("antre", "terkirim ke penyedia", "sampai", "gagal"):
        assert word in section, word
    assert section.count("tidak ada laporan pengiriman") == 1
    assert "RESULT_ERROR_NO_SERVICE" in section
    assert "m0" not in section  # states only: the texts are not shown on the page


def test_outbox_cli_shows_states_and_the_stuck_flag(tmp_path, node):
    request_with_messages(node)
    cfg = write_config(tmp_path / "c.toml", f'[storage]\npath = "{node.config["storage.path"]}"\n')
    listed = json.loads(run_cli("--config", str(cfg), "outbox", "--json", cwd=tmp_path).stdout)
    assert sorted(m["status"] for m in listed) == ["delivered", "failed", "queued", "sent", "sent"]
    assert [m["stuck"] for m in listed].count(True) == 1
    text = run_cli("--config", str(cfg), "outbox", cwd=tmp_path).stdout
    assert text.count("tidak ada laporan pengiriman") == 1


def test_sms_doctor_names_what_to_fix(tmp_path, node):
    cfg = write_config(tmp_path / "c.toml", f'[storage]\npath = "{tmp_path / "d.db"}"\n[sms]\nprovider = "android"\n'
                                            '[sms.android]\nurl = "http://192.168.1.20:8080"\nusername = "sms"\n')
    result = run_cli("--config", str(cfg), "sms", "doctor", cwd=tmp_path)
    assert result.returncode == 1
    for needle in ("SIMPUL_ANDROID_PASSWORD", "node.public_url", "SIMPUL_ANDROID_WEBHOOK_SECRET"):
        assert needle in result.stdout, needle
    cfg.write_text(cfg.read_text().replace("[sms]", '[node]\npublic_url = "https://192.168.1.10"\n[sms]'))
    ok = run_cli("--config", str(cfg), "sms", "doctor", cwd=tmp_path,
                 env={"SIMPUL_ANDROID_PASSWORD": "p", "SIMPUL_ANDROID_WEBHOOK_SECRET": "s"})
    assert ok.returncode == 0, ok.stdout


def test_sms_panel_counts_states_and_flags_a_silent_phone(app, node):
    from channels.sms import panel
    from channels.sms.providers import android
    from gateway.panels import PanelRequest
    from gateway.storage import kv

    request_with_messages(node)
    data = panel.view(PanelRequest(app=app, locale="id", officer={"username": "siti"}))
    assert data["counts"] == {"queued": 1, "sending": 0, "sent": 2, "delivered": 1, "undelivered": 0,
                              "failed": 1, "stuck": 1}
    assert data["provider"] == "" and data["phone_silent"] is False
    node.config["sms.provider"] = "android"
    long_ago = clock.to_iso(clock.now() - dt.timedelta(minutes=20))
    node.store.write(lambda db: kv.put(db, android.PING_KEY, long_ago))
    data = panel.view(PanelRequest(app=app, locale="id", officer={"username": "siti"}))
    assert data["phone_silent"] is True and data["phone_seen"] == long_ago
    [contributed] = panel.panels()
    assert contributed.id == "sms" and (contributed.templates / contributed.template).is_file()
