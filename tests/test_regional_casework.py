"""#12 on the regional server, #16.7 for pulled notes: real regional and node processes on loopback.

The regional CLI checks moves with the node's transitions table and notes
with the node's SMS limit; the for-citizen / internal flag crosses the wire
both ways; notes travel sealed to a key the node makes for each pull.
"""

from __future__ import annotations

import json

import pytest

from gateway.config.loader import load_config
from sync.client.transport import Transport
from sync.protocol import pullseal, wire
from tests.syncenv import NodeBox, Regional

LONG = ("Kantor desa buka Senin-Jumat 08.00-14.00, loket 2. Bawa KTP asli, Kartu Keluarga dan satu fotokopi "
        "masing-masing; keluarga boleh mengambil dengan surat kuasa bertanda tangan. ") * 3
EN = {"SIMPUL__NODE__DEFAULT_LOCALE": "en"}
INTERNAL = "cek ulang NIK di dukcapil, telp Pak Joko 0812-3456-7890"



@pytest.fixture
def box(tmp_path, regional):
    return NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))


def _synced(box: NodeBox) -> str:
    code = box.submit(name="John Smith", phone="081311112222", locale="en")
    out = box.sync()
    assert out.returncode == 0, out.stderr
    return code


def _regional_events(regional: Regional) -> list[tuple]:
    return regional.query("SELECT status, note, origin, internal, reopen FROM events WHERE status != 'received' "
                          "ORDER BY seq")


def test_a_closed_case_reopens_only_with_reopen_and_the_node_follows_audited(regional, box):
    code = _synced(box)
    for status in ("ready", "closed"):
        assert regional.cli("regional", "set-status", code, status).returncode == 0
    refused = regional.cli("regional", "set-status", code, "in_progress")
    assert refused.returncode == 2 and "reopen" in refused.stderr and refused.stdout == ""
    skipped = regional.cli("regional", "set-status", code, "ready")  # closed -> ready is not in the table
    assert skipped.returncode == 2 and "closed" in skipped.stderr
    assert regional.query("SELECT status FROM requests") == [("closed",)]
    reopened = regional.cli("regional", "set-status", code, "in_progress", "--reopen", "--actor", "rina")
    assert reopened.returncode == 0, reopened.stderr
    assert _regional_events(regional)[-1] == ("in_progress", None, "regional", 0, 1)
    assert regional.query("SELECT status FROM requests") == [("in_progress",)]
    assert box.sync().returncode == 0
    assert box.query("SELECT status FROM requests") == [("in_progress",)]
    actions = [a for (a,) in box.query("SELECT action FROM audit_log WHERE action LIKE 'status%' OR "
                                       "action = 'reopen' ORDER BY seq")]
    assert actions[-1] == "reopen"
    bodies = [b for (b,) in box.query("SELECT body FROM outbound ORDER BY rowid")]
    assert bodies[-1] == f"Request Domicile certificate {code}: being processed."


def test_refused_moves_and_bad_input_exit_2_and_write_nothing(regional, box):
    code = _synced(box)
    for args in (("received",), ("bogus",), ("READY",), ("closed",), ("received", "--note", "x")):
        out = regional.cli("regional", "set-status", code, *args)
        assert out.returncode == 2 and "Traceback" not in out.stderr, (args, out.stderr)
    assert _regional_events(regional) == []
    assert regional.cli("regional", "set-status", code, "in_progress").returncode == 0
    again = regional.cli("regional", "set-status", code, "in_progress", "--note", "   ")  # no note: no change
    assert again.returncode == 2 and "in_progress" in again.stderr
    assert _regional_events(regional) == [("in_progress", None, "regional", 0, 0)]


def test_a_note_too_long_exits_2_with_the_count_and_is_not_cut(regional, box):
    code = _synced(box)
    out = regional.cli("regional", "set-status", code, "ready", "--note", LONG, env=EN)
    assert out.returncode == 2
    assert "segments" in out.stderr and "(at most 3)" in out.stderr and "Traceback" not in out.stderr
    parts = int(out.stderr.split("would take ")[1].split()[0])
    assert parts > 3
    localized = regional.cli("regional", "set-status", code, "ready", "--note", LONG, env={"SIMPUL__NODE__DEFAULT_LOCALE": "id"})
    assert localized.returncode == 2 and str(parts) in localized.stderr
    assert _regional_events(regional) == []
    # The same note kept internal is not the citizen's SMS: it is accepted whole.
    fine = regional.cli("regional", "set-status", code, "ready", "--note", LONG, "--internal")
    assert fine.returncode == 0, fine.stderr
    assert _regional_events(regional) == [("ready", LONG.strip(), "regional", 1, 0)]


def test_a_rejection_reason_always_reaches_the_citizen_even_with_internal(regional, box):
    code = _synced(box)
    out = regional.cli("regional", "set-status", code, "rejected", "--note", "NIK tidak cocok", "--internal", env=EN)
    assert out.returncode == 0 and "1 segment" in out.stdout
    assert _regional_events(regional) == [("rejected", "NIK tidak cocok", "regional", 0, 0)]
    assert box.sync().returncode == 0
    [(body,)] = box.query("SELECT body FROM outbound")
    assert body == f"Request Domicile certificate {code}: rejected. Reason: NIK tidak cocok"


def test_an_internal_regional_note_never_reaches_the_citizen_and_is_sealed_on_the_node(tmp_path, regional, box):
    code = _synced(box)
    assert regional.cli("regional", "set-status", code, "in_progress", "--note", INTERNAL, "--internal").returncode == 0
    assert regional.cli("regional", "set-status", code, "ready", "--note", "Bawa KTP asli").returncode == 0
    assert box.sync().returncode == 0
    events = box.query("SELECT status, note, note_sealed IS NOT NULL, internal FROM status_events "
                       "WHERE origin = 'regional' ORDER BY seq")
    assert events == [("in_progress", None, 1, 1), ("ready", "Bawa KTP asli", 0, 0)]
    [(body,)] = box.query("SELECT body FROM outbound")
    assert "Bawa KTP asli" in body and "dukcapil" not in body
    with open(box.db, "rb") as fh:
        assert b"dukcapil" not in fh.read()
    # The track page and CEK by SMS of the node show the citizen's note only.
    from channels.sms.inbound import Handler, InboundSms
    from gateway.app import create_app
    from gateway.node import Node

    node = Node(load_config(box.config))
    try:
        page = create_app(config=node.config, node=node).test_client().get(f"/track/{code}").get_data(as_text=True)
        assert "dukcapil" not in page and "0812" not in page
        reply = Handler(node).handle(InboundSms("gammu", "m-1", "+6281311112222", f"CEK {code}"),
                                     queue_reply=True).reply
        assert reply and "dukcapil" not in reply
    finally:
        node.close()


def test_the_internal_flag_travels_from_the_node_to_the_region(regional, box):
    code = _synced(box)
    assert box.cli("set-status", code, "in_progress", "--note", INTERNAL, "--internal").returncode == 0
    assert box.cli("set-status", code, "in_progress", "--note", "Dokumen sedang diperiksa").returncode == 0
    assert box.sync().returncode == 0
    assert _regional_events(regional) == [("in_progress", INTERNAL, "node", 1, 0),
                                          ("in_progress", "Dokumen sedang diperiksa", "node", 0, 0)]


def test_a_node_reopen_reopens_the_regional_case(regional, box):
    code = _synced(box)
    for status in ("ready", "closed"):
        assert box.cli("set-status", code, status).returncode == 0
    assert box.sync().returncode == 0
    assert box.cli("set-status", code, "in_progress", "--reopen").returncode == 0
    assert box.sync().returncode == 0
    assert regional.query("SELECT status FROM requests") == [("in_progress",)]
    assert _regional_events(regional)[-1] == ("in_progress", None, "node", 0, 1)


def _transport(regional: Regional, box: NodeBox) -> Transport:
    counter = iter(range(10_000, 20_000))
    return Transport(regional.url, "desa-1", box.secret, lambda at_least: max(next(counter), at_least))


def test_pulled_notes_are_sealed_to_the_pull_key_and_old_nodes_never_get_internal_ones(regional, box):
    """#16.7: over http:// a case worker's note (and a phone number in it) is never on the wire in clear."""
    code = _synced(box)
    assert regional.cli("regional", "set-status", code, "in_progress", "--note", INTERNAL, "--internal").returncode == 0
    assert regional.cli("regional", "set-status", code, "ready", "--note", "Bawa KTP asli").returncode == 0
    link = _transport(regional, box)
    try:
        key = pullseal.new_key()
        sealed = link.call("/pull", {"cursor": 0, "limit": 50, **pullseal.request_fields(key)})
        on_wire = wire.pack(sealed)
        raw = json.dumps(sealed)
        assert "dukcapil" not in raw and "0812" not in raw and "Bawa KTP" not in raw
        assert b"dukcapil" not in on_wire
        opened = pullseal.open_answer(sealed, key)
        assert [(r["status"], r["note"], r["internal"]) for r in opened] == [
            ("in_progress", INTERNAL, True), ("ready", "Bawa KTP asli", False)]
        with pytest.raises(Exception, match="does not open"):
            pullseal.open_answer(sealed, pullseal.new_key())  # another key: refused, nothing applied
        # An older node (no key): the old columns, the citizen's note, never the internal one.
        old = link.call("/pull", {"cursor": 0, "limit": 50})
        assert old["cols"] == list(wire.PULL_COLS)
        assert [r[-1] for r in old["rows"]] == [None, "Bawa KTP asli"]
        bad = pullseal.request_fields(key)
        with pytest.raises(Exception, match="seal_to"):
            link.call("/pull", {"cursor": 0, "limit": 50, "seal_to": bad["seal_to"][:10]})
    finally:
        link.close()


def test_an_older_node_pushing_events_without_the_internal_column_is_understood(regional, box):
    code = _synced(box)
    request_id = box.query("SELECT id FROM requests")[0][0]
    link = _transport(regional, box)
    try:
        row = [1, "ev-old-1", request_id, "in_progress", "ani", "2026-12-01T09:00:00Z", "Dokumen lengkap",
               "received", None]
        answer = link.call("/events", wire.table(wire.EVENT_COLS_V1, [row]))
        assert answer["new"] == 1
    finally:
        link.close()
    assert _regional_events(regional) == [("in_progress", "Dokumen lengkap", "node", 0, 0)]
    assert regional.cli("regional", "set-status", code, "ready").returncode == 0


def test_the_store_refuses_what_the_table_refuses_and_records_a_reopen(regional_engine):
    from sync.errors import MoveRefused
    from tests.test_sync_unit import _regional_with_request

    store = _regional_with_request(regional_engine)
    try:
        store.set_status("req-1", "ready", actor="ani")
        with pytest.raises(MoveRefused, match="cannot move from ready to in_progress"):
            store.set_status("req-1", "in_progress", actor="ani")
        store.set_status("req-1", "closed", actor="ani")
        with pytest.raises(MoveRefused, match="reopen"):
            store.set_status("req-1", "in_progress", actor="ani", note="warga protes")
        event = store.set_status("req-1", "in_progress", actor="ani", note="warga protes", internal=True, reopen=True)
        assert (event["reopen"], event["internal"]) == (1, 1)
        reason = store.set_status("req-1", "rejected", actor="ani", note="NIK salah", internal=True)
        assert reason["internal"] == 0  # a rejection's reason is the citizen's
        history = [(e["status"], e["internal"], e["reopen"]) for e in store.history("req-1")]
        assert history[-2:] == [("in_progress", 1, 1), ("rejected", 0, 0)]
        rows, _, _ = store.pull("desa-1", 9, 0, 100)
        assert [(r["status"], r["internal"]) for r in rows][-2:] == [("in_progress", 1), ("rejected", 0)]
    finally:
        store.close()


def test_a_case_worker_files_a_rejection_under_a_catalog_category(regional, box):
    """#13.7: `--reason` takes one of the service's reject_reasons codes; anything else exits 2, writes nothing."""
    code = _synced(box)
    for args in (("rejected", "--note", "KK belum ada", "--reason", "bogus"), ("ready", "--reason", "incomplete")):
        out = regional.cli("regional", "set-status", code, *args)
        assert out.returncode == 2 and "incomplete, mismatch, not_eligible" in out.stderr, out.stderr
    assert _regional_events(regional) == []
    done = regional.cli("regional", "set-status", code, "rejected", "--note", "KK belum ada", "--reason", "incomplete")
    assert done.returncode == 0, done.stderr
    assert regional.query("SELECT reject_reason FROM requests") == [("incomplete",)]
    assert regional.query("SELECT key, n FROM tallies WHERE node_id = '*' AND metric = 'rejected'") == [
        ("incomplete", 1)]
