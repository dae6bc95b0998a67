"""End to end with real processes: a regional server and a node on loopback."""

from __future__ import annotations

import json

import pytest
import requests

from gateway.intake.codes import generate
from sync.protocol import signing, wire
from tests.syncenv import NodeBox, Regional, assert_exactly_once

CODE = generate()



@pytest.fixture
def box(tmp_path, regional):
    return NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))


def test_add_node_prints_the_secret_alone(regional):
    out = regional.cli("regional", "add-node", "desa-9")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and len(lines[0]) >= 40 and " " not in lines[0]
    again = regional.cli("regional", "add-node", "desa-9")
    assert again.returncode == 1 and again.stdout == ""
    rotated = regional.cli("regional", "add-node", "desa-9", "--rotate")
    assert rotated.returncode == 0 and rotated.stdout.strip() != lines[0]


def test_round_trip_push_status_back_and_one_sms_in_the_citizens_language(regional, box):
    codes = [box.submit(name="Siti Aminah", locale="id"), box.submit(name="John Smith", phone="081311112222",
                                                                      locale="en")]
    out = box.sync()
    assert out.returncode == 0, out.stderr
    assert "2" in out.stdout
    rows = regional.requests()
    assert sorted(r["tracking_code"] for r in rows) == sorted(codes)
    for r in rows:
        assert {"tracking_code", "node_id", "service", "status", "received_at"} <= set(r)
        assert r["node_id"] == "desa-1" and r["service"] == "DOMISILI" and r["status"] == "received"
    assert_exactly_once(regional, box)

    for code in codes:
        moved = regional.cli("regional", "set-status", code, "ready")
        assert moved.returncode == 0, moved.stderr
    assert box.sync().returncode == 0
    shown = box.cli("status", codes[0])
    assert "siap diambil" in shown.stdout
    sms = box.query('SELECT "to", body, key FROM outbound ORDER BY id')
    assert len(sms) == 2
    by_phone = {to: body for to, body, _ in sms}
    # #12: the service by its catalog name in the citizen's language
    assert by_phone["+6281234567890"] == \
        f"Permohonan Surat Keterangan Domisili {codes[0]}: siap diambil di kantor desa."
    assert by_phone["+6281311112222"] == \
        f"Request Domicile certificate {codes[1]}: ready for pickup at the village office."
    assert all(len(body) <= 160 for body in by_phone.values())

    # Pulling again applies nothing twice and queues nothing more.
    assert box.sync().returncode == 0
    assert len(box.query("SELECT * FROM outbound")) == 2
    assert box.query("SELECT count(*) FROM status_events WHERE origin = 'regional'")[0][0] == 2


def test_node_status_events_are_pushed_once(regional, box):
    code = box.submit()
    assert box.sync().returncode == 0
    request_id = box.query("SELECT id FROM requests")[0][0]
    # A kiosk officer marks it in progress on the node (through the core API).
    from gateway.cases.records import change_status
    from gateway.config.loader import load_config
    from gateway.node import Node

    node = Node(load_config(box.config))
    try:
        node.store.write(lambda db: change_status(db, request_id, "in_progress", actor="officer1"))
    finally:
        node.close()
    assert box.sync().returncode == 0
    assert box.sync().returncode == 0
    history = regional.query("SELECT status, origin FROM events WHERE request_id = ? ORDER BY seq", (request_id,))
    assert history == [("received", "node"), ("in_progress", "node")]
    assert regional.query("SELECT status FROM requests WHERE tracking_code = ?", (code,)) == [("in_progress",)]
    assert box.query("SELECT count(*) FROM status_events WHERE synced = 0")[0][0] == 0


def test_wrong_secret_is_refused_and_nothing_written(regional, box):
    box.submit()
    out = box.sync(env={"SIMPUL_SYNC_SECRET": "not-the-secret"})
    assert out.returncode == 1
    assert "401" in out.stderr
    assert regional.query("SELECT count(*) FROM requests")[0][0] == 0
    assert box.query("SELECT count(*) FROM requests WHERE synced = 1")[0][0] == 0


def test_unknown_node_is_refused(regional, tmp_path):
    stranger = NodeBox(tmp_path / "stranger", "desa-x", regional.url, "whatever-secret")
    stranger.submit()
    out = stranger.sync()
    assert out.returncode == 1 and "unknown node" in out.stderr
    assert regional.query("SELECT count(*) FROM requests")[0][0] == 0


def test_unreachable_server_exits_non_zero(tmp_path):
    from tests.syncenv import free_port

    box = NodeBox(tmp_path / "node", "desa-1", f"http://127.0.0.1:{free_port()}", "s")
    box.submit()
    out = box.sync()
    assert out.returncode == 1 and "tidak terjangkau" in out.stderr
    assert box.query("SELECT synced FROM requests") == [(0,)]


def test_not_configured_exits_2(tmp_path):
    box = NodeBox(tmp_path / "node", "desa-1", "", "s")
    out = box.sync()
    assert out.returncode == 2


def _signed_post(url: str, node: str, secret: str, counter: int, payload) -> requests.Response:
    body = wire.pack(payload)
    path = signing.PREFIX + "/requests"
    return requests.post(url + path, data=body, timeout=10, headers={
        signing.H_NODE: node, signing.H_REQUEST: str(counter),
        signing.H_SIGNATURE: signing.sign(secret, "POST", path, node, counter, body)})


def _batch(request_id: str, name: str) -> dict:
    return wire.encode_requests([{
        "seq": 1, "id": request_id, "tracking_code": CODE, "service": "DOMISILI", "channel": "sms",
        "phone": "+6281234567890", "locale": "id", "officer": None, "created_at": "2026-11-23T08:00:00Z",
        "fields": {"nik": "3201011708900001", "name": name, "address": "Jl. Mawar 1"}}])


def test_replayed_request_is_refused_before_any_write(regional):
    secret = regional.add_node("desa-r")
    first = _signed_post(regional.url, "desa-r", secret, 5, _batch("11111111-1111-4111-8111-111111111111", "A"))
    assert first.status_code == 200
    # The exact captured request again: same counter, same signature.
    replay = _signed_post(regional.url, "desa-r", secret, 5, _batch("22222222-2222-4222-8222-222222222222", "B"))
    assert replay.status_code == 409
    older = _signed_post(regional.url, "desa-r", secret, 4, _batch("22222222-2222-4222-8222-222222222222", "B"))
    assert older.status_code == 409
    assert regional.query("SELECT id FROM requests") == [("11111111-1111-4111-8111-111111111111",)]
    # Tampered body with the old signature: 401.
    body = wire.pack(_batch("33333333-3333-4333-8333-333333333333", "C"))
    path = signing.PREFIX + "/requests"
    bad = requests.post(regional.url + path, data=body, timeout=10, headers={
        signing.H_NODE: "desa-r", signing.H_REQUEST: "9",
        signing.H_SIGNATURE: signing.sign(secret, "POST", path, "desa-r", 9, b"other")})
    assert bad.status_code == 401
    assert regional.query("SELECT count(*) FROM requests")[0][0] == 1
    assert regional.query("SELECT last_counter FROM nodes WHERE id = 'desa-r'") == [(5,)]


def test_same_uuid_different_content_is_a_conflict_never_an_overwrite(regional):
    secret = regional.add_node("desa-c")
    rid = "44444444-4444-4444-8444-444444444444"
    assert _signed_post(regional.url, "desa-c", secret, 1, _batch(rid, "Asli")).status_code == 200
    same = _signed_post(regional.url, "desa-c", secret, 2, _batch(rid, "Asli"))
    assert same.status_code == 200 and wire.unpack(same.content)["same"] == 1
    other = _signed_post(regional.url, "desa-c", secret, 3, _batch(rid, "Palsu"))
    assert other.status_code == 200 and wire.unpack(other.content)["conflicts"] == 1
    fields = json.loads(regional.query("SELECT fields FROM requests WHERE id = ?", (rid,))[0][0])
    assert fields["name"] == "Asli"
    conflicts = json.loads(regional.cli("regional", "conflicts", "--json").stdout)
    assert [(c["kind"], c["request_id"]) for c in conflicts] == [("content", rid)]


def test_tracking_code_clash_across_nodes_is_recorded_and_both_kept(regional):
    a, b = regional.add_node("desa-a"), regional.add_node("desa-b")
    assert _signed_post(regional.url, "desa-a", a, 1, _batch("55555555-5555-4555-8555-555555555555", "A")).ok
    assert _signed_post(regional.url, "desa-b", b, 1, _batch("66666666-6666-4666-8666-666666666666", "B")).ok
    assert regional.query("SELECT count(*) FROM requests WHERE tracking_code = ?", (CODE,))[0][0] == 2
    kinds = regional.query("SELECT kind, node_id FROM conflicts")
    assert kinds == [("tracking_code", "desa-b")]
    ambiguous = regional.cli("regional", "set-status", CODE, "ready")
    assert ambiguous.returncode == 2 and "--node" in ambiguous.stderr
    assert regional.cli("regional", "set-status", CODE, "ready", "--node", "desa-b").returncode == 0


def test_set_status_bad_input(regional, box):
    code = box.submit()
    assert box.sync().returncode == 0
    assert regional.cli("regional", "set-status", "ZZZZZ-ZZZZZ", "ready").returncode == 2
    assert regional.cli("regional", "set-status", code, "bogus").returncode == 2
    assert regional.cli("regional", "set-status", "00000-00000", "ready").returncode == 1


def test_catalog_newer_version_is_fetched_validated_and_used(tmp_path):
    from importlib import resources

    text = resources.files("gateway").joinpath("demo_catalog.toml").read_text("utf-8")
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(text.replace("version = 1", "version = 7", 1), encoding="utf-8")
    server = Regional(tmp_path / "regional", catalog=catalog).start()
    try:
        box = NodeBox(tmp_path / "node", "desa-1", server.url, server.add_node("desa-1"))
        out = box.sync()
        assert out.returncode == 0, out.stderr
        assert "7" in out.stdout
        stored = box.query("SELECT value FROM kv WHERE key = 'catalog_toml'")[0][0]
        assert "version = 7" in stored
        health = box.cli("catalog", "check")  # the node's configured catalog is untouched
        assert health.returncode == 0
        from gateway.config.loader import load_config
        from gateway.node import Node

        node = Node(load_config(box.config))
        try:
            assert node.catalog.version == 7
        finally:
            node.close()
    finally:
        server.stop()


def test_healthz_and_store_stats(regional, box):
    box.submit()
    box.sync()
    health = requests.get(regional.url + "/healthz", timeout=5).json()
    assert health["status"] == "ok" and health["requests"] == 1 and health["nodes"] == 1


def test_both_sides_moved_the_case_while_apart_node_ends_at_the_regional_status(regional, box):
    """Case worker: in progress; meanwhile the kiosk (offline): ready. Both end at 'ready'."""
    code = box.submit()
    assert box.sync().returncode == 0
    request_id = box.query("SELECT id FROM requests")[0][0]
    assert regional.cli("regional", "set-status", code, "in_progress").returncode == 0
    from gateway.cases.records import change_status
    from gateway.config.loader import load_config
    from gateway.node import Node

    node = Node(load_config(box.config))
    try:
        node.store.write(lambda db: change_status(db, request_id, "ready", actor="officer1"))
    finally:
        node.close()
    assert box.sync().returncode == 0
    assert regional.query("SELECT status FROM requests") == [("ready",)]
    assert box.query("SELECT status FROM requests") == [("ready",)]
    # The stale "in progress" is in the history but not texted after the kiosk said ready.
    assert box.query("SELECT count(*) FROM outbound")[0][0] == 0
    statuses = [s for (s,) in box.query("SELECT status FROM status_events ORDER BY seq")]
    assert statuses == ["received", "ready", "in_progress"]
    # The case worker closes it: the node follows and the citizen is told once.
    assert regional.cli("regional", "set-status", code, "closed").returncode == 0
    assert box.sync().returncode == 0 and box.sync().returncode == 0
    assert box.query("SELECT status FROM requests") == [("closed",)]
    assert box.query("SELECT count(*) FROM outbound")[0][0] == 1


def test_several_changes_in_one_pull_text_the_citizen_once(regional, box):
    code = box.submit()
    assert box.sync().returncode == 0
    for status in ("in_progress", "ready"):
        assert regional.cli("regional", "set-status", code, status).returncode == 0
    assert box.sync().returncode == 0
    sms = box.query("SELECT body FROM outbound")
    assert sms == [(f"Permohonan Surat Keterangan Domisili {code}: siap diambil di kantor desa.",)]
    assert box.query("SELECT count(*) FROM status_events WHERE origin = 'regional'")[0][0] == 2


@pytest.mark.skipif(__import__("shutil").which("script") is None, reason="needs util-linux script for a tty")
def test_progress_bar_on_a_terminal_for_long_pushes(regional, box):
    import subprocess

    from tests.syncenv import SIMPUL, clean_env

    box.submit_many(300)
    command = f"{SIMPUL} --config {box.config} sync --once"
    out = subprocess.run(["script", "-qec", command, "/dev/null"], env=clean_env(box.env),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout
    assert "Mengirim permohonan" in out.stdout and "100%" in out.stdout
    assert "Terkirim 300 permohonan" in out.stdout
    plain = box.sync()  # not a terminal: no bar
    assert "Mengirim" not in plain.stdout
    assert_exactly_once(regional, box)


def test_events_made_before_the_first_sync_are_pushed_after_their_request(regional, box):
    box.submit()
    request_id = box.query("SELECT id FROM requests")[0][0]
    from gateway.cases.records import change_status
    from gateway.config.loader import load_config
    from gateway.node import Node

    node = Node(load_config(box.config))
    try:
        node.store.write(lambda db: change_status(db, request_id, "received", actor="officer1",
                                                  note="berkas lengkap"))
        node.store.write(lambda db: change_status(db, request_id, "ready", actor="officer1"))
    finally:
        node.close()
    out = box.sync()
    assert out.returncode == 0, out.stderr
    assert "2 perubahan status" in out.stdout
    history = regional.query("SELECT status, note, origin FROM events WHERE request_id = ? ORDER BY seq",
                             (request_id,))
    assert history == [("received", None, "node"), ("received", "berkas lengkap", "node"), ("ready", None, "node")]
    assert box.query("SELECT count(*) FROM status_events WHERE synced = 0")[0][0] == 0


def test_secret_from_the_configured_file(regional, tmp_path):
    box = NodeBox(tmp_path / "node", "desa-f", regional.url, "")
    secret_file = tmp_path / "node" / "sync_secret"
    secret_file.write_text(regional.add_node("desa-f") + "\n", encoding="utf-8")
    secret_file.chmod(0o600)
    box.config.write_text(box.config.read_text().replace(
        f'url = "{regional.url}"', f'url = "{regional.url}"\nsecret_file = "{secret_file}"'), encoding="utf-8")
    box.submit()
    out = box.cli("sync", "--once", env={"SIMPUL_SYNC_SECRET": ""})
    assert out.returncode == 0, out.stderr
    assert_exactly_once(regional, box)
    secret_file.unlink()
    missing = box.cli("sync", "--once", env={"SIMPUL_SYNC_SECRET": ""})
    assert missing.returncode == 2 and "sync_secret" in missing.stderr


def test_a_regional_note_reaches_the_citizen_in_full_with_its_segment_count(regional, box):
    """#12: a ~200-character case worker's note was dropped; now it is sent whole (2 segments here)."""
    code = box.submit(name="John Smith", phone="081311112222", locale="en")
    assert box.sync().returncode == 0
    note = ("Open Mon-Fri 08:00-14:00 at the village office, counter 2. Bring your original KTP, the family card "
            "(KK) and one photocopy of each; a relative may collect it with a signed letter from you.")
    assert len(note) > 160
    moved = regional.cli("regional", "set-status", code, "ready", "--note", note)
    assert moved.returncode == 0, moved.stderr
    assert box.sync().returncode == 0
    rows = box.query('SELECT "to", body, segments, locale, kind FROM outbound')
    assert len(rows) == 1
    to, body, segments, locale, kind = rows[0]
    assert (to, locale, kind) == ("+6281311112222", "en", "status")
    assert body == f"Request Domicile certificate {code}: ready for pickup at the village office. Note: {note}"
    assert segments == 2
    listed = json.loads(box.cli("outbox", "--json").stdout)
    assert listed[0]["segments"] == 2 and listed[0]["body"] == body
    track_note = box.query("SELECT note, internal FROM status_events WHERE origin = 'regional'")
    assert track_note == [(note, 0)]  # for the citizen: readable without an officer key


def test_a_published_catalog_that_would_unseal_a_field_is_refused_and_the_pass_completes(tmp_path):
    """Security review finding 1: a regional server cannot turn sealing off on a node."""
    import json
    from importlib import resources

    text = resources.files("gateway").joinpath("demo_catalog.toml").read_text("utf-8")
    weaker = text.replace("version = 1", "version = 8", 1).replace(
        "max_length = 160\n  personal = true\n  label = { id = \"Alamat\"",
        "max_length = 160\n  personal = false\n  reason = \"village names only\"\n  label = { id = \"Alamat\"", 1)
    assert weaker.count("reason = \"village names only\"") == 1
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(weaker, encoding="utf-8")
    server = Regional(tmp_path / "regional", catalog=catalog).start()
    try:
        box = NodeBox(tmp_path / "node", "desa-1", server.url, server.add_node("desa-1"))
        box.submit()
        out = box.sync()
        assert out.returncode == 0, out.stderr
        assert box.query("SELECT count(*) FROM requests WHERE synced = 1")[0][0] == 1  # other stages ran
        assert box.query("SELECT value FROM kv WHERE key = 'catalog_toml'") in ([], [("",)], [(None,)])
        refusal = json.loads(box.query("SELECT value FROM kv WHERE key = 'catalog_refused'")[0][0])
        assert refusal["version"] == 8 and refusal["fields"] == ["DOMISILI.address"]
        assert box.cli("requests").returncode == 0  # the node still starts on its old catalog
    finally:
        server.stop()
