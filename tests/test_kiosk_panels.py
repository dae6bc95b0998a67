"""Sync panel and dashboard (figures and server-side SVG charts)."""

from __future__ import annotations

import base64
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from channels.kiosk import charts, stats
from gateway import clock
from gateway.cases import records as cases
from gateway.durations import duration_text
from gateway.intake.pipeline import Submission
from tests.conftest import NIK
from tests.kiosk_support import add_officer, hidden, login

JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def kiosk(client, node):
    add_officer(node)
    login(client)
    return client


def _submit(node, channel="sms", service="ADUAN"):
    values = {"message": "jalan rusak"} if service == "ADUAN" else {"nik": NIK, "name": "Ani", "address": "Krajan"}
    return node.pipeline.submit(Submission(channel, service, values)).request


def test_sync_panel_shows_backlog_and_reports_no_regional_server(kiosk, node):
    _submit(node)
    _submit(node, "web")
    old = clock.to_iso(clock.now() - dt.timedelta(hours=3, minutes=5))
    node.store.write(lambda db: db.execute("UPDATE requests SET created_at = ? WHERE seq = 1", [old]))
    html = kiosk.get("/kiosk/sync").get_data(as_text=True)
    assert '<dd class="num">2</dd>' in html  # requests and their received events
    assert "3 jam 5 mnt" in html and "belum pernah" in html
    response = kiosk.post("/kiosk/sync", data=hidden(html))
    assert response.status_code == 200
    assert "Server regional belum diatur" in response.get_data(as_text=True)
    node.store.write(lambda db: cases.set_kv(db, "last_sync_at", "2026-01-02T03:04:05Z"))
    assert "2 Jan 2026 10:04" in kiosk.get("/kiosk/sync").get_data(as_text=True)  # shown in WIB


def test_sync_now_calls_the_sync_job(kiosk, node, monkeypatch):
    import sync.client.jobs

    calls = []

    def fake_pass(app):
        calls.append(app)
        return {"configured": True, "ok": True, "message": "12 requests sent"}

    monkeypatch.setattr(sync.client.jobs, "sync_now", fake_pass)
    html = kiosk.get("/kiosk/sync").get_data(as_text=True)
    response = kiosk.post("/kiosk/sync", data=hidden(html)).get_data(as_text=True)
    assert calls == [kiosk.application] and "12 requests sent" in response


def test_dashboard_figures(node):
    now = clock.now()
    a = _submit(node, "sms")
    b = _submit(node, "kiosk", "DOMISILI")
    _submit(node, "web", "DOMISILI")
    created = clock.parse(a["created_at"])
    node.store.write(lambda db: cases.change_status(db, a["id"], "ready", actor="t",
                                                    at=clock.to_iso(created + dt.timedelta(hours=2))))
    node.store.write(lambda db: cases.change_status(db, b["id"], "ready", actor="t",
                                                    at=clock.to_iso(created + dt.timedelta(hours=4))))
    figures = stats.figures(node.store.read(), JAKARTA, days=7, now=now)
    assert len(figures.days) == 7 and figures.days[-1] == now.astimezone(JAKARTA).date()
    assert figures.by_channel == {"kiosk": [0] * 6 + [1], "sms": [0] * 6 + [1], "web": [0] * 6 + [1]}
    assert figures.by_service == {"ADUAN": [0] * 6 + [1], "DOMISILI": [0] * 6 + [2]}
    assert figures.status_counts == {"ready": 2, "received": 1} and figures.total == 3
    assert figures.ready_sample == 2 and abs(figures.median_to_ready_s - 3 * 3600) < 5


def test_per_day_uses_local_days():
    days = [dt.date(2026, 3, 1), dt.date(2026, 3, 2)]
    rows = [("2026-02-28T17:30:00Z", "sms"), ("2026-03-01T16:59:00Z", "sms"), ("2026-03-01T17:00:00Z", "web"),
            ("2026-02-28T16:00:00Z", "sms")]
    assert stats.per_day(rows, days, JAKARTA) == {"sms": [2, 0], "web": [0, 1]}


def test_charts_are_svg_without_inline_style_and_escape_labels():
    svg = charts.stacked_bars(["1/3", "2/3"], {"<sms>": [1, 2], "web": [0, 3]}, "t")
    assert svg.startswith("<svg") and "style=" not in svg and "<sms>" not in svg and "&lt;sms&gt;" in svg
    assert svg.count('class="s0"') == 3 and svg.count('class="s1"') == 2  # two bars + legend, one bar + legend
    bars = charts.hbars([("received", 4), ("ready", 2)], "t")
    assert 'width="0.0"' not in bars and bars.count("<rect") == 2


def test_dashboard_page_renders_charts(kiosk, node):
    _submit(node)
    html = kiosk.get("/kiosk/dashboard").get_data(as_text=True)
    assert html.count('<svg class="chart"') == 3
    assert "Permohonan per hari menurut saluran" in html and "<script>" not in html


def test_duration_text():
    def render(msgid, **params):
        return msgid % params

    assert duration_text(20, render) == "under a minute"
    assert duration_text(4 * 60 + 5, render) == "4 min"
    assert duration_text(5 * 3600 + 600, render) == "5 h 10 min"
    assert duration_text(2 * 86400 + 3 * 3600 + 60, render) == "2 d 3 h"



def test_sync_panel_says_which_requests_wait_for_the_node_key_and_why(tmp_path, node, client):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from gateway.app import create_app
    from gateway.config.loader import load_config
    from gateway.node import Node
    from gateway.privacy import sealing
    from tests.conftest import node_keys_of

    _submit(node)
    _submit(node, service="DOMISILI")  # sealed with no regional key set: no regional copy yet
    node_keys_of(node)  # opened with the recovery code while this process still has it
    add_officer(node, "siti")
    add_officer(node, "budi", grant=False)
    login(client, "budi")
    html = client.get("/kiosk/sync").get_data(as_text=True)
    assert "Permohonan menunggu kunci node" in html and '<dd class="num">2</dd>' in html
    assert "sync.regional_key" in html  # the cause here: the node never got the regional key
    node.close()

    regional_key = base64.b64encode(sealing.public_bytes(X25519PrivateKey.generate().public_key())).decode()
    config = load_config(overrides={"storage": {"path": str(tmp_path / "simpul.db")}, "jobs": {"enabled": False},
                                    "sync": {"regional_key": regional_key}})
    keyed = Node(config)
    try:
        app = create_app(config=config, node=keyed)
        waiting = app.test_client()
        login(waiting, "budi")
        html = waiting.get("/kiosk/sync").get_data(as_text=True)
        assert "setelah petugas yang memegang kunci node masuk" in html
        holder = app.test_client()
        login(holder, "siti")
        html = holder.get("/kiosk/sync?lang=en").get_data(as_text=True)
        assert "Your login holds the node key: the next sync seals these requests" in html

        keyed.store.write(lambda db: db.execute("UPDATE requests SET sealed_regional = x'00'"))
        html = holder.get("/kiosk/sync?lang=en").get_data(as_text=True)
        assert "Requests waiting for the node key" not in html and "awaiting-seal" not in html
    finally:
        keyed.close()
