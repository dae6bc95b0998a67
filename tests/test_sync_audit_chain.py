"""The regional continuity check on audit batches: the pure judgement, the store, the wire format."""

from __future__ import annotations

import pytest

from gateway.privacy.audit import GENESIS, entry_hash
from sync.errors import ProtocolError
from sync.protocol import signing, wire
from sync.regional import audit_chain
from sync.regional.engines import open_store


def chain(n: int, *, start_prev: str = GENESIS, first: int = 1, actor: str = "ani") -> list[dict]:
    """n entries as a node's audit_log would hold them (with prev_hash and hash)."""
    out, prev = [], start_prev
    for seq in range(first, first + n):
        e = {"seq": seq, "at": f"2026-11-23T08:{seq % 60:02d}:00Z", "actor": actor, "action": "status_change",
             "subject": f"req-{seq}", "details": '{"status":"ready"}'}
        e["prev_hash"] = prev
        e["hash"] = prev = entry_hash(prev, seq, e["at"], e["actor"], e["action"], e["subject"], e["details"])
        out.append(e)
    return out


def held_of(entries: list[dict]):
    by_seq = {e["seq"]: e["hash"] for e in entries}
    return len(entries), by_seq.get


def judge(batch: list[dict], held: list[dict], head=None):
    head = head or ((batch[-1]["seq"], batch[-1]["hash"]) if batch else (0, GENESIS))
    prev = batch[0]["prev_hash"] if batch else head[1]
    return audit_chain.judge(prev, head, batch, *held_of(held))


def test_first_batch_and_continuation_fit():
    entries = chain(10)
    first = judge(entries[:4], [])
    assert first.ok and first.hashes == [e["hash"] for e in entries[:4]] and first.same == 0
    rest = judge(entries[4:], entries[:4])
    assert rest.ok and rest.same == 0 and rest.hashes[-1] == entries[-1]["hash"]


def test_identical_resend_overlapping_what_is_held_is_a_no_op():
    entries = chain(10)
    verdict = judge(entries[2:], entries[:6])  # 3..10 sent, 1..6 held: 4 repeated, 4 new
    assert verdict.ok and verdict.same == 4
    assert judge(entries, entries).same == 10


def test_head_only_batch_checks_the_held_chain():
    entries = chain(5)
    assert judge([], entries, head=(5, entries[-1]["hash"])).ok
    assert judge([], entries, head=(3, entries[2]["hash"])).ok
    assert judge([], [], head=(0, GENESIS)).ok
    bad = judge([], entries, head=(5, "f" * 64))
    assert (bad.problem, bad.seq, bad.held) == (audit_chain.REWRITTEN, 5, entries[-1]["hash"])
    assert judge([], entries, head=(7, "f" * 64)).problem == audit_chain.GAP


def _rewritten(entries: list[dict], seq: int) -> list[dict]:
    """An attacker's copy: entry ``seq`` edited and every later hash recomputed (locally consistent)."""
    edited = [dict(e) for e in entries]
    edited[seq - 1]["actor"] = "mallory"
    prev = edited[seq - 2]["hash"] if seq > 1 else GENESIS
    for e in edited[seq - 1:]:
        e["prev_hash"] = prev
        e["hash"] = prev = entry_hash(prev, e["seq"], e["at"], e["actor"], e["action"], e["subject"], e["details"])
    return edited


def test_rewritten_and_recomputed_history_does_not_fit():
    entries = chain(8)
    forged = _rewritten(entries, 3) + chain(2, start_prev=_rewritten(entries, 3)[-1]["hash"], first=9)
    # The node sends only what is new (9, 10): they link to a forged 8.
    new_only = judge(forged[8:], entries)
    assert (new_only.problem, new_only.seq, new_only.held) == (audit_chain.UNLINKED, 9, entries[-1]["hash"])
    # A resend from further back names the first entry that differs.
    resend = judge(forged[3:], entries)
    assert resend.problem == audit_chain.REWRITTEN and resend.seq == 4
    whole = judge(forged, entries)
    assert whole.problem == audit_chain.REWRITTEN and whole.seq == 3 and whole.held == entries[2]["hash"]


def test_dropped_entries_and_bad_hashes_do_not_fit():
    entries = chain(10)
    assert judge(entries[6:], entries[:4]).problem == audit_chain.GAP  # 5, 6 never sent
    holey = entries[:3] + entries[4:]
    assert judge(holey, []).problem == audit_chain.GAP
    assert judge(entries, [], head=(10, "e" * 64)).problem == audit_chain.BAD_HASH
    edited = [dict(e) for e in entries]
    edited[5]["details"] = '{"status":"rejected"}'  # content edited, hashes not recomputed
    assert judge(edited, []).problem == audit_chain.BAD_HASH


def test_wire_round_trip_and_junk():
    entries = chain(3)
    message = wire.unpack(wire.pack(wire.encode_audit(entries, (3, entries[-1]["hash"]))))
    assert "hash" not in message["cols"] and message["prev"] == GENESIS
    prev, head, decoded = wire.decode_audit(message)
    assert prev == GENESIS and head == (3, entries[-1]["hash"])
    assert [d["subject"] for d in decoded] == ["req-1", "req-2", "req-3"]
    for junk in ({**message, "prev": "x"}, {**message, "head": [2, entries[-1]["hash"]]},
                 {**message, "head": ["3", entries[-1]["hash"]]}, {**message, "cols": ["seq"]},
                 {**message, "rows": [[0, "a", "b", "c", None, "{}"]]},
                 {**message, "rows": [[1, "", "b", "c", None, "{}"]]}, [], None):
        with pytest.raises(ProtocolError):
            wire.decode_audit(junk)


@pytest.fixture
def store(regional_engine):
    config = regional_engine.config()
    s = open_store(config)
    s.add_node("desa-1")
    yield s
    s.close()


def _push(store, counter, batch, head=None):
    head = head or (batch[-1]["seq"], batch[-1]["hash"])
    return store.push_audit("desa-1", counter, batch[0]["prev_hash"] if batch else head[1], head, batch)


def test_store_appends_flags_once_and_never_overwrites(store):
    entries = chain(6)
    answer = _push(store, 1, entries[:4])
    assert answer == {"acked": 4, "n": 4, "new": 4, "same": 0, "held": [4, entries[3]["hash"]]}
    assert _push(store, 2, entries[2:])["new"] == 2
    assert store.audit_head("desa-1") == (6, entries[-1]["hash"])
    forged = _rewritten(entries, 2)
    for counter in (3, 4):  # sent twice: one flag
        answer = _push(store, counter, forged)
        assert answer["flagged"] is True and answer["problem"] == "rewritten" and answer["seq"] == 2
    held = store.audit_entries("desa-1")
    assert [e["hash"] for e in held] == [e["hash"] for e in entries]
    assert [e["actor"] for e in held] == ["ani"] * 6
    flags = store.node_flags()
    assert len(flags) == 1 and flags[0]["kind"] == "audit_chain"
    assert flags[0]["detail"] == {"problem": "rewritten", "seq": 2, "held": entries[1]["hash"],
                                  "got": forged[1]["hash"]}
    node = store.nodes()[0]
    assert node["flagged"] and node["audit_seq"] == 6 and store.stats()["flagged_nodes"] == 1
    assert store.resolve_flag(flags[0]["id"], actor="budi")
    assert not store.resolve_flag(flags[0]["id"], actor="budi")
    assert not store.nodes()[0]["flagged"] and store.stats()["flagged_nodes"] == 0
    assert store.node("desa-1")["last_counter"] == 4  # the flagged pushes still claimed their ids


def test_nodes_page_shows_the_flag_and_a_case_worker_marks_it_checked(regional_engine):
    import re

    from sync.regional.app import create_regional_app
    from tests.test_sync_web import _csrf, _login

    config = regional_engine.config()
    store = open_store(config)
    try:
        app = create_regional_app(config, store)
        for node_id in ("desa-1", "desa-2"):
            store.add_node(node_id)
        entries = chain(5)
        store.push_audit("desa-1", 1, GENESIS, (5, entries[-1]["hash"]), entries)
        store.push_audit("desa-2", 1, GENESIS, (5, entries[-1]["hash"]), entries)
        forged = _rewritten(entries, 4)
        store.push_audit("desa-1", 2, forged[3]["prev_hash"], (5, forged[-1]["hash"]), forged[3:])
        client = app.test_client()
        assert client.get("/nodes").status_code == 302  # login first
        _login(client, store)
        index = client.get("/?lang=en").get_data(as_text=True)
        assert "1 nodes flagged" in index and 'href="/nodes"' in index
        html = client.get("/nodes?lang=en").get_data(as_text=True)
        rows = re.findall(r"<tr( class=\"flagged\")?>\s*<td><a href=\"[^\"]+\">(desa-\d)</a>", html)
        assert rows == [(' class="flagged"', "desa-1"), ("", "desa-2")]
        assert "history rewritten" in html and entries[-1]["hash"][:16] in html
        assert "entri yang sudah disimpan server" in client.get("/nodes?lang=id").get_data(as_text=True)
        flag_id = store.node_flags()[0]["id"]
        assert client.post(f"/nodes/flags/{flag_id}/resolve").status_code == 400  # no CSRF token
        resp = client.post(f"/nodes/flags/{flag_id}/resolve", data={"csrf_token": _csrf(html)})
        assert resp.status_code == 302
        assert store.node_flags()[0]["resolved_by"] == "ani" and not store.nodes()[0]["flagged"]
        assert "nodes flagged" not in client.get("/?lang=en").get_data(as_text=True)
        assert client.post(f"/nodes/flags/{flag_id}/resolve", data={"csrf_token": _csrf(html)}).status_code == 404
    finally:
        store.close()


def test_any_single_edit_of_a_held_entry_is_caught_even_when_recomputed():
    """Property: edit one field of one held entry, recompute every later hash: never accepted."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    entries = chain(12)

    @settings(max_examples=300, deadline=None)
    @given(seq=st.integers(1, 12), field=st.sampled_from(["at", "actor", "action", "subject", "details"]),
           value=st.text(min_size=1, max_size=20), held=st.integers(1, 12), start=st.integers(1, 12))
    def check(seq, field, value, held, start):
        if value == entries[seq - 1][field]:
            return
        forged = [dict(e) for e in entries]
        forged[seq - 1][field] = value
        prev = entries[seq - 2]["hash"] if seq > 1 else GENESIS
        for e in forged[seq - 1:]:
            e["prev_hash"] = prev
            e["hash"] = prev = entry_hash(prev, e["seq"], e["at"], e["actor"], e["action"], e["subject"],
                                          e["details"])
        batch = forged[min(start, held + 1) - 1:]
        verdict = judge(batch, entries[:held])
        assert verdict.ok == (seq > held), (seq, held, start, verdict)
        if seq <= held:  # the server held that entry: it must not fit, whatever is sent after it
            assert verdict.problem in (audit_chain.REWRITTEN, audit_chain.UNLINKED)

    check()


def test_audit_endpoint_checks_signature_then_format_before_any_write(regional_engine):
    from sync.regional.app import create_regional_app

    config = regional_engine.config()
    store = open_store(config)
    try:
        app = create_regional_app(config, store)
        secret = store.add_node("desa-1")
        client = app.test_client()
        path = signing.PREFIX + "/audit"

        def post(message, counter, key=secret):
            body = wire.pack(message)
            headers = {signing.H_NODE: "desa-1", signing.H_REQUEST: str(counter),
                       signing.H_SIGNATURE: signing.sign(key, "POST", path, "desa-1", counter, body)}
            resp = client.post(path, data=body, headers=headers)
            return resp, (wire.unpack(resp.data) if resp.status_code != 401 else None)

        entries = chain(3)
        good = wire.encode_audit(entries, (3, entries[-1]["hash"]))
        assert post(good, 1, key="wrong")[0].status_code == 401
        resp, answer = post({**good, "head": [2, entries[-1]["hash"]]}, 2)
        assert resp.status_code == 400 and "head" in answer["error"]
        assert resp.headers[signing.H_SIGNATURE] == signing.sign_response(secret, 2, 400, resp.data)
        assert store.audit_entries("desa-1") == [] and store.node_flags() == []
        resp, answer = post(good, 3)
        assert resp.status_code == 200 and answer["acked"] == 3 and answer["new"] == 3
        assert post(good, 3)[0].status_code == 409  # a replayed request id
        resp, answer = post(good, 4)  # the same entries again under a new id: a no-op
        assert answer == {"acked": 3, "n": 3, "new": 0, "same": 3, "held": [3, entries[-1]["hash"]]}
        assert len(store.audit_entries("desa-1")) == 3 and store.node_flags() == []
    finally:
        store.close()
