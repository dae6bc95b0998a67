"""#13.7: a rejection's category and the citizen's rating travel from the node with their request.

Over the real signed HTTP endpoint on both engines: categories and ratings
are counted in the district tallies once, nodes that send none count as
"unknown", a rating for another node's request changes nothing, and junk is
refused with 400 before anything is written. The node side: the kiosk's
category reaches ``status_events.reason`` and the sync pass sends it and the
rating (never the comment).
"""

from __future__ import annotations

import pytest

from gateway.intake.codes import generate
from sync.protocol import signing, wire
from sync.regional.analytics import ALL, Analytics, ServiceFacts
from sync.regional.app import create_regional_app

FACTS = Analytics({"DOMISILI": ServiceFacts(1, None, ("incomplete", "mismatch"))}, "Asia/Jakarta")


@pytest.fixture
def regional(regional_engine):
    config = regional_engine.config()
    store = regional_engine.store()
    app = create_regional_app(config, store)
    store.analytics = FACTS
    yield app, store
    store.close()


def _post(client, node, secret, counter, path, message):
    body = wire.pack(message)
    full = signing.PREFIX + path
    return client.post(full, data=body, headers={
        signing.H_NODE: node, signing.H_REQUEST: str(counter),
        signing.H_SIGNATURE: signing.sign(secret, "POST", full, node, counter, body)})


def _push_requests(client, node, secret, counter, n):
    rows = [{"seq": i, "id": f"{node}-{i}", "tracking_code": generate(), "service": "DOMISILI", "channel": "sms",
             "phone": None, "locale": "id", "officer": None, "created_at": "2026-11-02T01:00:00Z", "fields": {}}
            for i in range(1, n + 1)]
    assert _post(client, node, secret, counter, "/requests", wire.encode_requests(rows)).status_code == 200


def _rejection(node, i, seq):
    return [seq, f"{node}-e{i}", f"{node}-{i}", "rejected", "petugas", "2026-11-03T08:00:00Z", "kurang KK",
            "received", None, False]


def _tallies(store, metric):
    rows = store.read().query("SELECT key, n FROM tallies WHERE node_id = ? AND metric = ?", [ALL, metric])
    return {r["key"]: r["n"] for r in rows}


def test_categories_and_ratings_are_counted_once_unknown_when_missing(regional):
    app, store = regional
    client = app.test_client()
    one, two = store.add_node("desa-1"), store.add_node("desa-2")
    _push_requests(client, "desa-1", one, 1, 4)
    _push_requests(client, "desa-2", two, 1, 1)
    events = wire.table(wire.EVENT_COLS, [_rejection("desa-1", 1, 1), _rejection("desa-1", 2, 2),
                                          _rejection("desa-1", 3, 3)],
                        seal_epochs={}, reasons=["incomplete", None, "no-such-category"],
                        ratings=[["desa-1-4", 5], ["desa-1-1", 2], ["desa-2-1", 1]])
    resp = _post(client, "desa-1", one, 2, "/events", events)
    assert resp.status_code == 200, resp.data
    assert _tallies(store, "rejected") == {"incomplete": 1, "unknown": 2}
    assert _tallies(store, "rating") == {"5": 1, "2": 1}  # desa-2's request is not desa-1's to rate
    # The same rating again (a resend), and a second rating for a rated request: counted once.
    again = wire.table(wire.EVENT_COLS, [], seal_epochs={}, ratings=[["desa-1-4", 5], ["desa-1-1", 4]])
    assert _post(client, "desa-1", one, 3, "/events", again).status_code == 200
    assert _tallies(store, "rating") == {"5": 1, "2": 1}
    # An older node: events without a reasons column; its rejection is unknown.
    old = wire.table(wire.EVENT_COLS, [_rejection("desa-2", 1, 1)], seal_epochs={})
    assert _post(client, "desa-2", two, 2, "/events", old).status_code == 200
    assert _tallies(store, "rejected") == {"incomplete": 1, "unknown": 3}


@pytest.mark.parametrize("extra", [
    {"reasons": ["incomplete", None]},  # not one per row
    {"reasons": [7]},
    {"reasons": ["x" * 65]},
    {"ratings": [["desa-1-1", 6]]},
    {"ratings": [["desa-1-1", True]]},
    {"ratings": [["desa-1-1"]]},
    {"ratings": "5"},
])
def test_junk_reasons_and_ratings_are_refused_before_any_write(regional, extra):
    app, store = regional
    client = app.test_client()
    secret = store.add_node("desa-1")
    _push_requests(client, "desa-1", secret, 1, 1)
    events = wire.table(wire.EVENT_COLS, [_rejection("desa-1", 1, 1)], seal_epochs={}, **extra)
    resp = _post(client, "desa-1", secret, 2, "/events", events)
    assert resp.status_code == 400
    assert store.history("desa-1-1")[-1]["status"] == "received" and _tallies(store, "rating") == {}


def test_the_kiosk_category_and_the_rating_leave_the_node_but_never_the_comment(node, monkeypatch):
    """The node side: actions.set_status keeps a known category only; the events push carries it,
    and the feedback rating, under their request."""
    from gateway.cases import actions
    from gateway.intake.pipeline import Submission
    from sync.client import stages
    from sync.client.batching import BatchSizer

    request = node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": "3201011708900001", "name": "Siti",
                                                                   "address": "Jl. Mawar 1"})).request
    other = node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": "3201011708900002", "name": "Budi",
                                                                 "address": "Jl. Melati 2"})).request
    actions.set_status(node, request, "rejected", actor="ani", note="KK kurang", reason="incomplete")
    actions.set_status(node, other, "rejected", actor="ani", note="salah", reason="made-up")
    reasons = dict(node.store.read().execute("SELECT request_id, reason FROM status_events WHERE status = 'rejected'"
                                             ).fetchall())
    assert reasons == {request["id"]: "incomplete", other["id"]: None}
    node.store.write(lambda db: db.execute(
        "INSERT INTO feedback (request_id, rating, comment, locale, created_at) VALUES (?, 4, '', 'id', ?)",
        [request["id"], "2026-11-04T00:00:00Z"]))
    node.store.write(lambda db: db.execute("UPDATE requests SET synced = 1"))
    sent: list = []
    monkeypatch.setattr(stages, "_timed_call", lambda c, path, payload, full: sent.append(payload) or {
        "acked": max(r[0] for r in payload["rows"]) if payload["rows"] else 0, "n": len(payload["rows"])})
    ctx = stages.PassContext(node=node, transport=None, batch=BatchSizer())
    assert stages.push_events(ctx) == stages.Status.COMPLETED
    payload = sent[0]
    cols = payload["cols"]
    by_request = {row[cols.index("request_id")]: reason for row, reason in zip(payload["rows"], payload["reasons"],
                                                                               strict=True)}
    assert by_request[request["id"]] == "incomplete" and by_request[other["id"]] is None
    assert payload["ratings"] == [[request["id"], 4]]
    assert "comment" not in repr(payload)
    sent.clear()
    assert stages.push_events(ctx) == stages.Status.COMPLETED and sent == []  # nothing twice
