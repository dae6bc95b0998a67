"""Personal data travels sealed to the regional server, which opens it for case workers.

Real processes on loopback (a ``simpul regional serve``, ``simpul sync``), real
database files: the plaintext never reaches either disk, a record the server
cannot open is stored and flagged (the batch is still acked), and records
sealed before the node had the regional key wait for an officer's session.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import stat
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.cases import records as cases
from gateway.config.loader import load_config
from gateway.intake.pipeline import Submission
from gateway.node import Node
from gateway.privacy import sealing
from tests.conftest import node_keys_of
from tests.syncenv import SIMPUL, NodeBox, Regional, assert_exactly_once, clean_env, free_port

PEOPLE = [("3201011708900001", "Siti Aminah", "Jl. Mawar No. 7, RT 02/RW 03"),
          ("7371124405850002", "Yohanes Manurung", "Dusun Krajan No. 12, RT 05/RW 01")]


@pytest.fixture
def regional(tmp_path, regional_engine):
    """A regional server whose key lives in its key file (made on first use), not in env."""
    server = Regional(tmp_path / "regional", seal_env=False, database_url=regional_engine.url)
    yield server
    server.stop()


def _register(regional: Regional, node_id: str) -> tuple[str, str]:
    out = regional.cli("regional", "add-node", node_id)
    assert out.returncode == 0, out.stderr
    secret = out.stdout.strip()
    assert out.stdout.count("\n") == 1  # stdout: the secret alone (README's export $(...))
    key = re.search(r'^sync\.regional_key = "([A-Za-z0-9+/=]{44})"$', out.stderr, re.M).group(1)
    return secret, key


def _submit(box: NodeBox, people=PEOPLE) -> list[str]:
    codes = []
    for i, (nik, name, address) in enumerate(people):
        out = box.cli("submit", "DOMISILI", f"nik={nik}", f"name={name}", f"address={address}",
                      "--phone", f"08123456{i:04d}")
        assert out.returncode == 0, out.stderr
        codes.append(out.stdout.strip())
    return codes


@contextlib.contextmanager
def _case_worker(regional: Regional):
    """A logged-in case worker's client on the regional web view (server stopped; same db and key file)."""
    from sync.regional.app import create_regional_app
    from sync.regional.engines import open_store
    from sync.regional.web import hash_password

    config = load_config(overrides={"regional": {"db": str(regional.db), "database_url": regional.database_url}})
    store = open_store(config)
    try:
        client = create_regional_app(config, store).test_client()
        store.add_user("ani", hash_password("rahasia-kuat-1"))
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        client.post("/login", data={"username": "ani", "password": "rahasia-kuat-1", "csrf_token": token})
        yield client
    finally:
        store.close()


def _files_bytes(db_path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = f"{db_path}{suffix}"
        if os.path.exists(path):
            with open(path, "rb") as fh:
                data += fh.read()
    return data


def _assert_no_plaintext(db_path, people=PEOPLE, regional: Regional | None = None) -> None:
    if regional is not None and regional.database_url:  # every row of every table, as text
        tables = [t for (t,) in regional.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        data = b"".join(str(regional.query(f"SELECT t::text FROM {t} t")).encode() for t in tables)
    else:
        data = _files_bytes(db_path)
    assert data, db_path
    for nik, name, _address in people:
        for secret in (nik, name, name.split()[1]):
            assert secret.encode() not in data, f"{secret!r} in clear in {db_path}"


def test_case_worker_sees_opened_fields_and_no_disk_holds_them_in_clear(tmp_path, regional):
    regional.start()
    secret, key = _register(regional, "desa-1")
    key_file = regional.root / "regional_seal_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert regional.cli("regional", "seal-key").stdout.strip() == key
    box = NodeBox(tmp_path / "node", "desa-1", regional.url, secret, regional_key=key)
    codes = _submit(box)
    out = box.sync()
    assert out.returncode == 0, out.stderr
    assert_exactly_once(regional, box)

    listed = regional.cli("regional", "requests", "--json", "--fields")
    assert listed.returncode == 0, listed.stderr
    by_code = {r["tracking_code"]: r for r in json.loads(listed.stdout)}
    assert by_code[codes[0]]["fields"] == {"nik": PEOPLE[0][0], "name": PEOPLE[0][1], "address": PEOPLE[0][2]}
    assert by_code[codes[1]]["fields"]["name"] == PEOPLE[1][1]
    assert all(r["seal_problem"] is None for r in by_code.values())
    plain = regional.cli("regional", "requests")  # without --fields: no personal data
    assert PEOPLE[0][1] not in plain.stdout and "TIDAK DAPAT DIBUKA" not in plain.stdout

    # The web view opens them for a logged-in case worker.
    regional.stop()
    with _case_worker(regional) as client:
        request_id = by_code[codes[1]]["id"]
        detail = client.get(f"/requests/{request_id}").get_data(as_text=True)
        assert PEOPLE[1][0] in detail and PEOPLE[1][1] in detail and "Dusun Krajan" in detail
        assert "tidak dapat dibuka" not in detail
    _assert_no_plaintext(regional.db, regional=regional)
    _assert_no_plaintext(box.db)


def test_record_sealed_to_another_key_or_moved_is_stored_flagged_and_acked(tmp_path, regional):
    regional.start()
    secret, _key = _register(regional, "desa-1")
    stranger = base64.b64encode(sealing.public_bytes(X25519PrivateKey.generate().public_key())).decode()
    box = NodeBox(tmp_path / "node", "desa-1", regional.url, secret, regional_key=stranger)
    code = box.submit()
    out = box.sync()
    assert out.returncode == 0, out.stderr  # acked: the node never retries it forever
    assert box.query("SELECT synced FROM requests") == [(1,)]
    assert regional.query("SELECT seal_problem FROM requests") == [("unknown_key",)]
    listed = regional.cli("regional", "requests")
    assert code in listed.stdout and "TIDAK DAPAT DIBUKA" in listed.stdout and "sync.regional_key" in listed.stdout

    # Two copies swapped between records on the node (right key, wrong record): both flagged.
    box2 = NodeBox(tmp_path / "node2", "desa-2", regional.url, _register(regional, "desa-2")[0],
                   regional_key=regional.cli("regional", "seal-key").stdout.strip())
    _submit(box2)
    (a, blob_a), (b, blob_b) = box2.query("SELECT id, sealed_regional FROM requests ORDER BY seq")
    import sqlite3

    conn = sqlite3.connect(box2.db)
    with conn:
        conn.execute("UPDATE requests SET sealed_regional = ? WHERE id = ?", (blob_b, a))
        conn.execute("UPDATE requests SET sealed_regional = ? WHERE id = ?", (blob_a, b))
    conn.close()
    out = box2.sync()
    assert out.returncode == 0, out.stderr
    assert regional.query("SELECT seal_problem FROM requests WHERE node_id = 'desa-2'") == [("damaged",), ("damaged",)]
    assert box2.query("SELECT count(*) FROM requests WHERE synced = 0") == [(0,)]
    as_json = json.loads(regional.cli("regional", "requests", "--json", "--fields").stdout)
    flagged = [r for r in as_json if r["seal_problem"]]
    assert len(flagged) == 3 and all("nik" not in r["fields"] for r in flagged)
    regional.stop()
    with _case_worker(regional) as client:
        listing = client.get("/").get_data(as_text=True)
        assert "3 permohonan masuk dengan data pribadi yang tidak dapat dibuka" in listing
        assert listing.count("data pribadi tidak dapat dibuka</strong>") == 3
        detail = client.get(f"/requests/{a}").get_data(as_text=True)
        assert "data tersegel rusak atau milik data lain" in detail


def test_replayed_batch_still_deduplicates(tmp_path):
    regional = Regional(tmp_path / "regional").start()
    try:
        box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
        _submit(box)
        assert box.sync().returncode == 0
        # The ack was "lost": the node sends the same batch again (new request id, same content).
        import sqlite3

        conn = sqlite3.connect(box.db)
        with conn:
            conn.execute("UPDATE requests SET synced = 0")
            conn.execute("UPDATE sync_state SET value = 0 WHERE name = 'requests_hwm'")
        conn.close()
        out = box.sync()
        assert out.returncode == 0, out.stderr
        assert_exactly_once(regional, box)
        assert regional.query("SELECT count(*) FROM conflicts") == [(0,)]
        assert regional.query("SELECT count(*) FROM requests WHERE seal_problem IS NULL AND sealed IS NOT NULL") == [(2,)]
    finally:
        regional.stop()


def test_records_without_a_regional_copy_wait_for_an_officer_then_go_in_order(tmp_path, monkeypatch):
    regional = Regional(tmp_path / "regional").start()
    try:
        box = NodeBox(tmp_path / "node", "desa-1", "", regional.add_node("desa-1"), regional_key="")
        # Two requests arrive before the node was given the regional key.
        node = Node(load_config(box.config))
        keys = node_keys_of(node)
        try:
            for i, (nik, name, address) in enumerate(PEOPLE):
                receipt = node.pipeline.submit(Submission(channel="sms", service="DOMISILI", sender=f"0812345600{i}",
                                                          channel_message_id=f"SM{i}",
                                                          values={"nik": nik, "name": name, "address": address}))
                assert receipt.ok
            first = receipt.request["id"]
            node.vault.ready()
            node.store.write(lambda db: cases.change_status(db, first, "in_progress", actor="ani",
                                                            note="KK asli dibawa Yohanes", vault=node.vault))
        finally:
            node.close()
        assert box.query("SELECT count(*) FROM requests WHERE sealed IS NOT NULL AND sealed_regional IS NULL") == [(2,)]
        assert box.query("SELECT count(*) FROM status_events WHERE note_sealed IS NOT NULL "
                         "AND note_sealed_regional IS NULL") == [(1,)]
        box.regional_key = regional.cli("regional", "seal-key").stdout.strip()
        box.set_url(regional.url)
        box.submit(name="Budi Santoso")  # this one has its regional copy, but comes after them

        out = box.sync()
        assert out.returncode == 1
        assert "2" in out.stderr and "petugas" in out.stderr  # "2 permohonan menunggu login petugas ..."
        assert regional.query("SELECT count(*) FROM requests") == [(0,)]  # order kept: nothing jumps the queue

        # The kiosk's "sync now" says the same; then an officer logs in on the node (their session
        # holds the node key) and the next pass re-seals the two and sends all three, in order.
        from gateway.app import create_app
        from sync.client.jobs import sync_now

        monkeypatch.setenv("SIMPUL_SYNC_SECRET", box.secret)
        app = create_app(config=load_config(box.config))
        node = app.extensions["simpul"]
        try:
            held = sync_now(app)
            assert held["configured"] and not held["ok"]
            assert "2 permohonan menunggu login petugas" in held["message"]
            assert regional.query("SELECT count(*) FROM requests") == [(0,)]
            node.keyring.put("session-1", keys)
            released = sync_now(app)
            assert released["ok"], released
            assert released["message"].startswith("Terkirim 3 permohonan")
        finally:
            node.close()
        assert_exactly_once(regional, box)
        assert regional.query("SELECT note FROM events WHERE status = 'in_progress'") == [("KK asli dibawa Yohanes",)]
        rows = json.loads(regional.cli("regional", "requests", "--json", "--fields").stdout)
        names = sorted(r["fields"]["name"] for r in rows)
        assert names == sorted([PEOPLE[0][1], PEOPLE[1][1], "Budi Santoso"])
        seqs = [r[0] for r in regional.query("SELECT node_seq FROM requests ORDER BY rid")]
        assert seqs == sorted(seqs)
        _assert_no_plaintext(box.db)
        assert b"KK asli" not in _files_bytes(box.db)
    finally:
        regional.stop()


def test_node_refuses_sync_url_without_the_regional_key(tmp_path):
    box = NodeBox(tmp_path / "node", "desa-1", f"http://127.0.0.1:{free_port()}", "s", regional_key="")
    out = box.sync()
    assert out.returncode == 2 and "sync.regional_key" in out.stderr
    box.config.write_text(box.config.read_text().replace("enabled = false", "enabled = true"))
    serve = subprocess.run([SIMPUL, "--config", str(box.config), "serve", "--port", str(free_port())],
                           env=clean_env(box.env), cwd=box.root, capture_output=True, text=True, timeout=60)
    assert serve.returncode == 2 and "sync.regional_key" in serve.stderr


def test_notes_travel_sealed_and_come_back_sealed_on_the_node(tmp_path):
    regional = Regional(tmp_path / "regional").start()
    try:
        box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
        node = Node(load_config(box.config))
        keys = node_keys_of(node)
        try:
            receipt = node.pipeline.submit(Submission(channel="sms", service="DOMISILI", sender="081234567890",
                                                      channel_message_id="SM1",
                                                      values={"nik": PEOPLE[0][0], "name": PEOPLE[0][1],
                                                              "address": PEOPLE[0][2]}))
            rid, code = receipt.request["id"], receipt.tracking_code
            node.vault.ready()
            node.store.write(lambda db: cases.change_status(db, rid, "in_progress", actor="ani",
                                                            note="diambil Siti Aminah", vault=node.vault))
        finally:
            node.close()
        assert box.sync().returncode == 0
        notes = regional.query("SELECT note, note_problem FROM events WHERE request_id = ? AND status = 'in_progress'",
                               (rid,))
        assert notes == [("diambil Siti Aminah", None)]  # the regional keeps notes in clear (documented)

        moved = regional.cli("regional", "set-status", code, "ready", "--note", "bawa KTP asli Pak Joko")
        assert moved.returncode == 0, moved.stderr
        assert box.sync().returncode == 0
        # #12: a note for the citizen (it is in their SMS) is stored readable; the node's internal one stays sealed
        assert box.query("SELECT note, internal FROM status_events WHERE note IS NOT NULL") == \
            [("bawa KTP asli Pak Joko", 0)]
        node = Node(load_config(box.config))
        try:
            history = cases.history(node.store.read(), rid, opener=node.vault.opener(keys))
            assert [e["note"] for e in history if e["note"]] == ["diambil Siti Aminah", "bawa KTP asli Pak Joko"]
            masked = cases.history(node.store.read(), rid)
            assert "diambil Siti" not in json.dumps(masked) and "bawa KTP" in json.dumps(masked)
        finally:
            node.close()
        sms = box.query('SELECT body FROM outbound')
        assert any("bawa KTP asli" in body for (body,) in sms)  # the citizen's SMS carries the note
        data = _files_bytes(box.db)
        assert b"diambil Siti" not in data
    finally:
        regional.stop()


def test_seal_key_rotation_keeps_old_records_open(tmp_path, regional):
    regional.start()
    secret, old_key = _register(regional, "desa-1")
    box = NodeBox(tmp_path / "node", "desa-1", regional.url, secret, regional_key=old_key)
    box.submit(name="Siti Aminah")
    assert box.sync().returncode == 0
    rotated = regional.cli("regional", "seal-key", "--rotate")
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip()
    assert new_key != old_key and regional.cli("regional", "seal-key").stdout.strip() == new_key
    assert len((regional.root / "regional_seal_key").read_text().split()) == 2
    regional.stop()
    regional.start()
    box.regional_key = new_key
    box.set_url(regional.url)
    box.submit(name="Dewi Lestari", phone="081311112222")
    assert box.sync().returncode == 0
    rows = json.loads(regional.cli("regional", "requests", "--json", "--fields").stdout)
    assert sorted(r["fields"]["name"] for r in rows) == ["Dewi Lestari", "Siti Aminah"]
    assert all(r["seal_problem"] is None for r in rows)
    envs = regional.cli("regional", "seal-key", "--rotate", env={"SIMPUL_REGIONAL_SEAL_KEY": "x" * 44})
    assert envs.returncode == 2
