"""District analytics and /transparansi: tallies at ingest, small cells hidden, pages on both engines."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway import clock
from gateway.intake.codes import generate
from sync.protocol import wire
from sync.regional import analytics
from sync.regional.analytics import Analytics, ServiceFacts
from sync.regional.app import create_regional_app
from tests.test_sync_web import _login

FACTS = Analytics({"DOMISILI": ServiceFacts(1, None, ("incomplete", "mismatch")),
                   "ADUAN": ServiceFacts(7, ("road", "light"), ())}, "Asia/Jakarta")


NOW = "2026-11-20T00:00:00Z"


def _at(monkeypatch, when: str) -> None:
    moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    monkeypatch.setattr(clock, "now", lambda: moment)


def _requests(node: str, n: int, service: str = "DOMISILI", channel: str = "sms", start: int = 1,
              created: str = "2026-10-31T20:00:00Z", category: str | None = None):
    rows = []
    for i in range(start, start + n):
        fields = {"category": category} if category else {}
        row = {"seq": i, "id": f"{node}-{service}-{i}", "tracking_code": generate(), "service": service,
               "channel": channel, "phone": None, "locale": "id", "officer": None, "created_at": created,
               "fields": fields}
        rows.append(row)
    return wire.decode_requests(wire.encode_requests(rows))


def _seed(store, monkeypatch) -> None:
    """desa-1: 8 DOMISILI by SMS (6 ready within a day, 2 late), 3 ADUAN; desa-2: 2 DOMISILI by USSD, rejected."""
    store.analytics = FACTS
    store.add_node("desa-1")
    store.add_node("desa-2")
    _at(monkeypatch, "2026-11-01T00:00:00Z")
    store.push_requests("desa-1", 1, _requests("desa-1", 8))
    store.push_requests("desa-1", 2, _requests("desa-1", 2, "ADUAN", "web", category="road"))
    store.push_requests("desa-1", 3, _requests("desa-1", 1, "ADUAN", "web", start=3))  # an old node: no category
    store.push_events("desa-1", 4, [], ratings=[("desa-1-ADUAN-1", 4), ("desa-1-ADUAN-2", 4)])
    store.push_requests("desa-2", 1, _requests("desa-2", 2, channel="ussd"))
    _at(monkeypatch, "2026-11-01T10:00:00Z")  # 14 hours after 20:00 the day before
    for i in range(1, 7):
        store.set_status(f"desa-1-DOMISILI-{i}", "ready", actor="ani")
    store.set_status("desa-1-DOMISILI-1", "ready", actor="ani", note="again")  # counted once
    _at(monkeypatch, "2026-11-04T20:00:00Z")  # 4 days: past the 1-day processing time
    for i in (7, 8):
        store.set_status(f"desa-1-DOMISILI-{i}", "ready", actor="ani")
    store.set_status("desa-2-DOMISILI-1", "rejected", actor="ani", reason="incomplete")
    # A node's own event, with no reason category (nodes do not send one yet): unknown.
    store.push_events("desa-2", 2, [{"seq": 1, "id": "e-1", "request_id": "desa-2-DOMISILI-2", "status": "rejected",
                                     "actor": "petugas", "at": "2026-11-03T08:00:00Z", "note": None,
                                     "before": "received", "note_sealed_regional": None}],
                     ratings=[("desa-2-DOMISILI-2", 2)])


def test_tallies_answer_every_question_without_reading_requests(regional_engine, monkeypatch):
    store = regional_engine.store()
    try:
        _seed(store, monkeypatch)
        db = store.read()
        db.execute("DELETE FROM requests WHERE node_id = 'nobody'")  # (tallies alone answer below)
        months = analytics.last_months(3, "Asia/Jakarta", dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
        assert months == ["2026-09", "2026-10", "2026-11"]
        data = analytics.summary(db, months)
        # Created 2026-10-31 20:00 UTC = 2026-11-01 03:00 in Jakarta: the district's month.
        assert data.total("requests", month="2026-11") == 13 and data.total("requests", month="2026-10") == 0
        assert data.total("requests", channel="ussd") == 2
        assert data.percentile(0.5, service="DOMISILI") == 24 and data.percentile(0.9, service="DOMISILI") == 120
        assert (data.total("past_due", "yes"), data.total("past_due", "no")) == (2, 6)
        assert {k: data.total("rejected", k) for k in data.keys("rejected")} == {"incomplete": 1, "unknown": 1}
        assert {k: data.total("rating", k) for k in data.keys("rating")} == {"2": 1, "4": 2}
        assert {k: data.total("complaint", k) for k in data.keys("complaint")} == {"road": 2, "unknown": 1}
        one = analytics.summary(db, months, node_id="desa-2")
        assert one.total("requests") == 2 and one.total("rejected") == 2
        # Resends and repeated moves count nothing more.
        store.push_requests("desa-1", 9, _requests("desa-1", 8))
        store.set_status("desa-1-DOMISILI-7", "ready", actor="ani", note="x")
        again = analytics.summary(store.read(), months)
        assert again.rows and sorted(map(str, again.rows)) == sorted(map(str, data.rows))
    finally:
        store.close()


def test_bad_ratings_and_reasons_are_ignored_or_unknown(regional_engine, monkeypatch):
    store = regional_engine.store()
    try:
        store.analytics = FACTS
        store.add_node("desa-1")
        _at(monkeypatch, "2026-11-01T00:00:00Z")
        rows = _requests("desa-1", 4)
        store.push_requests("desa-1", 1, rows)
        # The wire refuses these (tests/test_regional_feedback.py); the tally ignores them too.
        store.push_events("desa-1", 2, [], ratings=[(r["id"], rating) for r, rating in
                                                    zip(rows, (0, 6, "5", True), strict=True)])
        store.set_status("desa-1-DOMISILI-1", "rejected", actor="ani", reason="<script>")
        data = analytics.summary(store.read(), ["2026-11"])
        assert data.total("rating") == 0
        assert data.keys("rejected") == ["unknown"]
    finally:
        store.close()


@pytest.fixture
def seeded(regional_engine, monkeypatch):
    config = regional_engine.config()
    store = regional_engine.store()
    app = create_regional_app(config, store)
    _seed(store, monkeypatch)
    _at(monkeypatch, NOW)  # the pages show the 12 months up to this day
    yield app, store
    store.close()


def test_analytics_needs_login_and_transparansi_is_public(seeded):
    app, store = seeded
    client = app.test_client()
    resp = client.get("/analytics")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    public = client.get("/transparansi?lang=en")
    assert public.status_code == 200
    html = public.get_data(as_text=True)
    assert "<svg" in html and "Data as of" in html and "http" not in html.split("<main class=\"main\">")[1].replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert "&lt;5" in html  # 2 requests by USSD, 3 complaints...
    for private in ("desa-1", "desa-2", "DOMISILI-1"):
        assert private not in html
    assert client.get("/transparansi?service=<x>&channel=../../").status_code == 200


def test_case_workers_see_exact_counts_by_node(seeded):
    app, store = seeded
    client = app.test_client()
    _login(client, store)
    html = client.get("/analytics?lang=en").get_data(as_text=True)
    assert "&lt;5" not in html and "desa-1" in html
    node = client.get("/analytics?lang=en&node=desa-2").get_data(as_text=True)
    assert "(total: 2)" in node
    assert client.get("/analytics?node=nobody&service=NOPE").status_code == 200


def test_categories_are_charted_in_catalog_order_with_unknown_last():
    from gateway.intake.catalog import load_catalog
    from sync.regional.dashboards import catalog_order

    options = load_catalog().service("ADUAN").field("category").options
    keys = ["other", "roads", "service", "unknown", "utilities", "banjir"]
    assert catalog_order(keys, options) == ["roads", "utilities", "service", "other", "banjir", "unknown"]
