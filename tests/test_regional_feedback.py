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


def _aduan(node, i, category=None):
    fields = {"category": category} if category is not None else {}
    return {"seq": i, "id": f"{node}-a{i}", "tracking_code": generate(), "service": "ADUAN", "channel": "web",
            "phone": None, "locale": "id", "officer": None, "created_at": "2026-11-02T01:00:00Z", "fields": fields}


@pytest.fixture
def demo_regional(regional_engine):
    """The regional app with the demo catalog's facts (ADUAN's category, DOMISILI's reasons)."""
    from gateway.intake.catalog import load_catalog

    store = regional_engine.store()
    app = create_regional_app(regional_engine.config(), store)
    store.analytics = Analytics.from_catalog(load_catalog(), "Asia/Jakarta")
    yield app, store
    store.close()


def test_an_old_node_lands_as_unknown_and_the_public_page_hides_small_cells(demo_regional, monkeypatch):
    """A node from before categories, reasons and ratings: its own column set (no ``internal``, no
    ``reasons``), no ``category`` field, no ``ratings``. Everything it sends counts as "unknown"."""
    import datetime as dt

    from gateway import clock

    app, store = demo_regional
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    client = app.test_client()
    secret = store.add_node("desa-lama")
    assert _post(client, "desa-lama", secret, 1, "/requests",
                 wire.encode_requests([_aduan("desa-lama", i) for i in range(1, 4)])).status_code == 200
    _push_requests(client, "desa-lama", secret, 2, 1)
    old = wire.table(wire.EVENT_COLS_V1, [_rejection("desa-lama", 1, 1)[:-1]], seal_epochs={})
    assert _post(client, "desa-lama", secret, 3, "/events", old).status_code == 200
    assert _tallies(store, "complaint") == {"unknown": 3}
    assert _tallies(store, "rejected") == {"unknown": 1}
    assert _tallies(store, "rating") == {}
    page = client.get("/transparansi?lang=en").get_data(as_text=True)
    for title in ("Rejections by reason", "Satisfaction ratings", "Complaints by category"):
        chart = page.split(f'aria-label="{title}"', 1)[1].split("</svg>", 1)[0]
        assert ">unknown</text>" in chart and "&lt;5</text>" in chart, (title, chart)  # 1, 4 and 3 requests
    assert "desa-lama" not in page


@pytest.mark.parametrize("category", [7, "", "x" * 65, "jalan\nrusak", ["roads"], {"code": "roads"}])
def test_a_junk_category_is_refused_whole_before_any_write(demo_regional, category):
    app, store = demo_regional
    client = app.test_client()
    secret = store.add_node("desa-1")
    rows = [_aduan("desa-1", 1, "roads"), _aduan("desa-1", 2, category)]
    resp = _post(client, "desa-1", secret, 1, "/requests", wire.encode_requests(rows))
    assert resp.status_code == 400
    assert "category" in wire.unpack(resp.data)["error"]
    assert store.read().query("SELECT id FROM requests") == [] and _tallies(store, "complaint") == {}
    assert store.node("desa-1")["last_counter"] == 0  # not even the counter: the node resends the same id
    # A well-formed code this catalog lacks (a node on another catalog version) is "unknown", not refused.
    rows = [_aduan("desa-1", 1, "roads"), _aduan("desa-1", 2, "banjir")]
    assert _post(client, "desa-1", secret, 1, "/requests", wire.encode_requests(rows)).status_code == 200
    assert _tallies(store, "complaint") == {"roads": 1, "unknown": 1}


COMMENT = "Pak Joko ramah, tapi antrean panjang sekali"


def test_the_wire_carries_category_reason_and_rating_but_never_the_comment(demo_regional, tmp_path):
    """A real sync pass from a node to a regional server on loopback; every body the node sent is
    recorded and read back: the ADUAN category, the rejection's category and the rating are there,
    the citizen's comment (nor its sealed copy) is not."""
    import base64
    import threading

    from werkzeug.serving import make_server

    from gateway.app import create_app
    from gateway.cases import actions
    from gateway.cases import records as cases
    from gateway.config.loader import load_config
    from gateway.intake.pipeline import Submission
    from gateway.node import Node
    from sync.client.runner import run_pass
    from sync.client.transport import Transport
    from tests.kiosk_support import hidden
    from tests.syncenv import TEST_SEAL_PUBLIC

    regional_app, store = demo_regional
    secret = store.add_node("desa-1")
    bodies: list[tuple[str, bytes]] = []
    inner = regional_app.wsgi_app

    def recording(environ, start_response):
        import io

        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        bodies.append((environ["PATH_INFO"], body))
        environ["wsgi.input"] = io.BytesIO(body)
        return inner(environ, start_response)

    regional_app.wsgi_app = recording
    server = make_server("127.0.0.1", 0, regional_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = load_config(overrides={"storage": {"path": str(tmp_path / "node.db")}, "jobs": {"enabled": False},
                                    "node": {"id": "desa-1"}, "sync": {"regional_key": TEST_SEAL_PUBLIC}})
    node = Node(config)
    try:
        client = create_app(config=config, node=node).test_client()
        aduan = node.pipeline.submit(Submission("web", "ADUAN", {"message": "lampu jalan mati",
                                                                 "category": "utilities"})).request
        domisili = node.pipeline.submit(Submission("web", "DOMISILI", {"nik": "3201011708900001", "name": "Siti",
                                                                       "address": "Jl. Mawar 1"})).request
        for status in ("in_progress", "ready", "closed"):
            node.store.write(lambda db, s=status: cases.change_status(db, aduan["id"], s, actor="ani"))
        actions.set_status(node, domisili, "rejected", actor="ani", note="KK belum dilampirkan", reason="incomplete")
        code = aduan["tracking_code"]
        form = {"csrf_token": hidden(client.get(f"/track/{code}").get_data(as_text=True))["csrf_token"],
                "rating": "4", "comment": COMMENT}
        assert client.post(f"/track/{code}/feedback", data=form).status_code == 303
        sealed = node.store.read().execute("SELECT comment_sealed FROM feedback").fetchone()[0]
        counter = iter(range(1, 1000))
        transport = Transport(f"http://127.0.0.1:{server.server_port}", "desa-1", secret,
                              lambda at_least: max(next(counter), at_least))
        result = run_pass(node, transport=transport)
        assert result.ok, result.error
        assert run_pass(node, transport=Transport(f"http://127.0.0.1:{server.server_port}", "desa-1", secret,
                                                  lambda at_least: max(next(counter), at_least))).ok
    finally:
        server.shutdown()
        node.close()
    sent = [(path, wire.unpack(body)) for path, body in bodies if body]
    raw = b"".join(wire.dumps(message) for _, message in sent)
    assert COMMENT.encode() not in raw and b"Pak Joko" not in raw
    assert base64.b64encode(sealed) not in raw and b"comment" not in raw
    events = [m for path, m in sent if path.endswith("/events")]
    assert [m["ratings"] for m in events if "ratings" in m] == [[[aduan["id"], 4]]]  # once, on the first pass
    reasons = {row[m["cols"].index("request_id")]: reason for m in events
               for row, reason in zip(m["rows"], m.get("reasons", []), strict=True)}
    assert reasons[domisili["id"]] == "incomplete"
    assert _tallies(store, "complaint") == {"utilities": 1}
    assert _tallies(store, "rejected") == {"incomplete": 1}
    assert _tallies(store, "rating") == {"4": 1}
