"""Pure parts of sync: wire format, signatures, batch sizing, notification texts, node state."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.intake.codes import generate
from gateway.outbox.notices import STATUS_SMS, status_sms
from sync.client import state
from sync.client.batching import MAXIMUM, MINIMUM, BatchSizer
from sync.errors import ProtocolError
from sync.protocol import signing, wire

texts = st.text(min_size=1, max_size=40)


@given(st.lists(st.fixed_dictionaries({
    "name": texts, "address": texts, "extra": st.one_of(st.none(), texts)}), min_size=1, max_size=20))
def test_requests_round_trip_through_the_wire(fieldsets):
    rows = []
    for i, fields in enumerate(fieldsets, 1):
        fields = {k: v for k, v in fields.items() if v is not None}
        rows.append({"seq": i, "id": f"id-{i}", "tracking_code": generate(), "service": "DOMISILI",
                     "channel": "sms", "phone": None, "locale": "id", "officer": None,
                     "created_at": "2026-11-23T08:00:00Z", "fields": fields,
                     "sealed_regional": None if i % 2 else bytes([i % 256]) * (i + 20)})
    decoded = wire.decode_requests(wire.unpack(wire.pack(wire.encode_requests(rows))))
    assert decoded == rows
    assert [wire.content_digest(r) for r in decoded] == [wire.content_digest(r) for r in rows]


def test_no_per_record_keys_on_the_wire():
    rows = [{"seq": i, "id": f"id-{i}", "tracking_code": generate(), "service": "DOMISILI", "channel": "sms",
             "phone": "+6281234567890", "locale": "id", "officer": None, "created_at": "2026-11-23T08:00:00Z",
             "fields": {"nik": "3201011708900001", "name": "A", "address": "B"}} for i in range(50)]
    raw = wire.dumps(wire.encode_requests(rows)).decode()
    assert raw.count('"nik"') == 1 and raw.count('"seq"') == 1


def test_digest_changes_with_content():
    row = {"id": "x", "tracking_code": "A", "service": "S", "channel": "sms", "phone": None, "locale": "id",
           "officer": None, "created_at": "t", "fields": {"name": "A"}}
    assert wire.content_digest(row) != wire.content_digest(dict(row, fields={"name": "B"}))
    assert wire.content_digest(row) == wire.content_digest(dict(row, seq=99))


@pytest.mark.parametrize("junk", [b"", b"not gzip", gzip.compress(b"{not json", mtime=0), gzip.compress(b"\xff\xfe", mtime=0)],
                         ids=["empty", "not-gzip", "gzip-not-json", "gzip-not-utf8"])
def test_unpack_refuses_junk(junk):
    with pytest.raises(ProtocolError):
        wire.unpack(junk)


def test_unpack_refuses_a_gzip_bomb():
    bomb = gzip.compress(b"[" + b"0," * (wire.MAX_INFLATED // 2 + 10) + b"0]")
    with pytest.raises(ProtocolError):
        wire.unpack(bomb)


@pytest.mark.parametrize("message", [
    {"cols": ["seq"], "rows": []},
    {"cols": list(wire.REQUEST_COLS), "rows": [[1]], "shapes": []},
    {"cols": list(wire.REQUEST_COLS), "shapes": [["a"]],
     "rows": [[1, "id", "BADCODE", "S", "sms", None, "id", None, "t", 0, ["v"]]]},
    {"cols": list(wire.REQUEST_COLS), "shapes": [["a"]],
     "rows": [[1, "id", generate().replace("-", ""), "S", "sms", None, "id", None, "t", 3, ["v"]]]},
])
def test_decode_refuses_malformed_batches(message):
    with pytest.raises(ProtocolError):
        wire.decode_requests(message)


def test_signature_covers_every_part():
    args = ("POST", "/sync/v1/requests", "desa-1", 7, b"body")
    sig = signing.sign("secret", *args)
    assert signing.verify("secret", sig, *args)
    assert not signing.verify("other", sig, *args)
    for i, changed in enumerate(("GET", "/sync/v1/pull", "desa-2", 8, b"Body")):
        tampered = list(args)
        tampered[i] = changed
        assert not signing.verify("secret", sig, *tampered)
    assert not signing.verify("secret", "", *args)


def test_batch_size_adapts_to_the_link():
    sizer = BatchSizer(100)
    sizer.succeeded(0.1, full=True)
    assert sizer.size == 200
    sizer.succeeded(0.1, full=False)  # a short batch says nothing about the link
    assert sizer.size == 200
    sizer.succeeded(16.0, full=True)  # slow: scale to the target time
    assert sizer.size == 100
    sizer.failed()
    assert sizer.size == 25
    for _ in range(10):
        sizer.failed()
    assert sizer.size == MINIMUM
    for _ in range(20):
        sizer.succeeded(0.01, full=True)
    assert sizer.size == MAXIMUM
    assert BatchSizer(0).size == 500


@pytest.mark.parametrize("locale", ["id", "en"])
@pytest.mark.parametrize("status", list(STATUS_SMS))
def test_status_sms_fits_one_segment_and_carries_a_note_in_full(status, locale):
    text = status_sms(status, "DOMISILI", "7KQ2M-XP9RH", locale)
    assert len(text) <= 160 and "7KQ2M-XP9RH" in text
    long_note = "x" * 300
    assert status_sms(status, "DOMISILI", "7KQ2M-XP9RH", locale, note=long_note).endswith(long_note)  # never cut
    short = status_sms(status, "SKTM", "7KQ2M-XP9RH", locale, note="bawa KTP")
    assert short.endswith("bawa KTP")


def test_status_sms_texts():
    assert status_sms("ready", "DOMISILI", "7KQ2M-XP9RH", "id") == \
        "Permohonan DOMISILI 7KQ2M-XP9RH: siap diambil di kantor desa."
    assert status_sms("rejected", "SKTM", "7KQ2M-XP9RH", "en").startswith("Request SKTM 7KQ2M-XP9RH: rejected.")


def test_counter_never_goes_back(node):
    store = node.store
    first = store.write(lambda db: state.next_counter(db))
    second = store.write(lambda db: state.next_counter(db))
    jumped = store.write(lambda db: state.next_counter(db, at_least=100))
    after = store.write(lambda db: state.next_counter(db, at_least=5))
    assert (first, second, jumped, after) == (1, 2, 100, 101)
    store.write(lambda db: state.raise_to(db, "pull_cursor", 9))
    store.write(lambda db: state.raise_to(db, "pull_cursor", 3))
    assert state.get(store.read(), "pull_cursor") == 9


def _regional_with_request(regional_engine):
    store = regional_engine.store()
    store.add_node("desa-1")
    row = {"seq": 1, "id": "req-1", "tracking_code": generate(), "service": "DOMISILI", "channel": "sms",
           "phone": None, "locale": "id", "officer": None, "created_at": "2026-11-23T08:00:00Z",
           "fields": {"name": "A"}}
    store.push_requests("desa-1", 1, [row])
    return store


def _event(eid, status, before, note=None):
    return {"seq": 1, "id": eid, "request_id": "req-1", "status": status, "actor": "petugas",
            "at": "2026-11-23T09:00:00Z", "note": note, "before": before}


def test_a_kiosk_note_never_moves_the_case_at_the_regional_server(regional_engine):
    store = _regional_with_request(regional_engine)
    try:
        # The table allows no move back: the case worker is at in_progress while the node moved on to ready.
        store.set_status("req-1", "in_progress", actor="ani", note="berkas kurang")
        # The node, not yet synced, still shows "ready" and adds a note there.
        store.push_events("desa-1", 2, [_event("e-note", "ready", "ready", note="warga datang")])
        assert store.get_request("req-1")["status"] == "in_progress"
        # A real move from the node is applied when it moves forward.
        store.push_events("desa-1", 3, [_event("e-move", "closed", "ready")])
        assert store.get_request("req-1")["status"] == "closed"
        # A stale move backwards is kept in the history, not applied.
        store.push_events("desa-1", 4, [_event("e-old", "in_progress", "received")])
        assert store.get_request("req-1")["status"] == "closed"
        applied = {e["id"]: e["applied"] for e in store.history("req-1")}
        assert (applied["e-note"], applied["e-move"], applied["e-old"]) == (2, 1, 0)
        # Pull relays the applied move only (after a case worker's event), not the note.
        rows, _, _ = store.pull("desa-1", 5, 0, 100)
        assert [r["id"] for r in rows if r["id"].startswith("e-")] == ["e-move"]
    finally:
        store.close()


def test_pushed_event_resend_is_a_no_op_and_changed_content_a_conflict(regional_engine):
    store = _regional_with_request(regional_engine)
    try:
        first = store.push_events("desa-1", 2, [_event("e-1", "in_progress", "received")])
        again = store.push_events("desa-1", 3, [_event("e-1", "in_progress", "received")])
        other = store.push_events("desa-1", 4, [_event("e-1", "rejected", "received")])
        assert (first["new"], again["same"], other["conflicts"]) == (1, 1, 1)
        assert store.get_request("req-1")["status"] == "in_progress"
        assert [c["kind"] for c in store.conflicts()] == ["event"]
    finally:
        store.close()


def test_request_uuids_travel_packed_and_come_back_canonical():
    import uuid

    ids = [str(uuid.uuid4()) for _ in range(50)]
    packed = [wire.pack_id(i) for i in ids]
    assert all(len(p) == 22 for p in packed)
    assert [wire.unpack_id(p) for p in packed] == ids
    assert wire.unpack_id(wire.pack_id("desa-1-req-1")) == "desa-1-req-1"  # not a UUID: as is
    with pytest.raises(ProtocolError):
        wire.pack_id("x" * 22)
    with pytest.raises(ProtocolError):
        wire.unpack_id("!" * 22)
