"""Officer key slots at the kiosk: login opens the node key into the session, and only then
personal data (fields, notes, NIK search) can be read."""

from __future__ import annotations

import re

import pytest

from channels.kiosk import accounts
from gateway.cases import records as cases
from gateway.intake.pipeline import Submission
from gateway.node import Node
from gateway.privacy import audit, keys, vault
from gateway.web.sessions import Timeouts, hash_id
from tests.conftest import NIK, node_keys_of
from tests.kiosk_support import PASSWORD, add_officer, hidden, login

NEW_PASSWORD = "kata-sandi-yang-baru"
SEALED_NOTICE = "Data pribadi tetap tersegel"


def _session_hash(response) -> str:
    cookie = re.search(r"simpul_kiosk=([^;]+)", response.headers["Set-Cookie"]).group(1)
    return hash_id(cookie)


@pytest.fixture
def dom(node):
    return node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": NIK, "name": "Siti Aminah",
                                                               "address": "Dusun Krajan"},
                                           sender="081234567890")).request


def test_login_puts_the_node_key_in_the_keyring_and_detail_shows_values(client, node, dom):
    add_officer(node, "siti")
    response = login(client, "siti")
    assert response.status_code == 303
    held = node.keyring.get(_session_hash(response))
    current = keys.current_key(node.store.read())[0]
    assert held is not None and current in held
    html = client.get(f"/kiosk/requests/{dom['tracking_code']}").get_data(as_text=True)
    assert NIK in html and "Siti Aminah" in html and "Dusun Krajan" in html
    assert SEALED_NOTICE not in html and vault.SEALED not in html
    # logout drops the key from memory
    client.post("/kiosk/logout", data={"csrf_token": hidden(html)["csrf_token"]})
    assert node.keyring.get(_session_hash(response)) is None and len(node.keyring) == 0


def test_officer_without_grant_sees_masks_until_an_admin_logs_in(client, node, app, dom):
    add_officer(node, "budi", grant=False)
    assert keys.ungranted(node.store.read()) == ["budi"]
    login(client, "budi")
    html = client.get(f"/kiosk/requests/{dom['tracking_code']}").get_data(as_text=True)
    assert NIK not in html and "Siti Aminah" not in html and vault.SEALED in html
    assert SEALED_NOTICE in html  # a clear, localized notice
    # the queue still works (by code), but a NIK search says it needs the key
    assert dom["tracking_code"] in client.get("/kiosk/queue").get_data(as_text=True)
    search = client.get(f"/kiosk/queue?q={NIK}").get_data(as_text=True)
    assert "memegang kunci node" in search and "Tidak ada permohonan yang cocok" in search
    assert f'>{dom["tracking_code"]}</a>' not in search
    english = client.get(f"/kiosk/requests/{dom['tracking_code']}?lang=en").get_data(as_text=True)
    assert "Personal data stays sealed until an officer who holds the node key logs in" in english

    # an admin who holds the key logs in: budi is granted, and it is audited
    add_officer(node, "kades", role="admin")
    login(app.test_client(), "kades")
    assert keys.ungranted(node.store.read()) == []
    granted = [(e["actor"], e["subject"]) for e in node.store.read().query(
        "SELECT actor, subject FROM audit_log WHERE action = ?", [audit.KEY_GRANTED])]
    assert ("kades", "budi") in granted
    # budi's own password now opens the node key: at the next login the values show
    assert keys.current_key(node.store.read())[0] in keys.unlock(node.store.read(), "budi", PASSWORD)
    again = app.test_client()
    login(again, "budi")
    html = again.get(f"/kiosk/requests/{dom['tracking_code']}").get_data(as_text=True)
    assert NIK in html and "Siti Aminah" in html and SEALED_NOTICE not in html


def test_officer_from_before_sealing_gets_a_slot_at_login(client, node, app, dom):
    add_officer(node, "lama", grant=False)
    node.store.write(lambda db: keys.remove_holder(db, "lama"))  # as if created before key slots existed
    assert login(client, "lama").status_code == 303
    assert "lama" in keys.ungranted(node.store.read())  # a slot from the password just typed, no grant yet
    add_officer(node, "kades", role="admin")
    login(app.test_client(), "kades")
    assert keys.unlock(node.store.read(), "lama", PASSWORD)


def test_restart_ends_the_session_politely(client, node, config, dom):
    from gateway.app import create_app

    add_officer(node, "siti")
    response = login(client, "siti")
    cookie = re.search(r"simpul_kiosk=([^;]+)", response.headers["Set-Cookie"]).group(1)
    restarted = Node(config)  # a new process on the same database: its keyring is empty
    try:
        other = create_app(config=config, node=restarted).test_client()
        other.set_cookie("simpul_kiosk", cookie, path="/kiosk")
        answer = other.get("/kiosk/queue")
        assert answer.status_code == 303 and "relogin=1" in answer.headers["Location"]
        page = other.get(answer.headers["Location"]).get_data(as_text=True)
        assert "Node dimulai ulang" in page and "Masuk petugas" in page
        gone = restarted.store.read().execute("SELECT count(*) FROM kiosk_sessions WHERE id_hash = ?",
                                              [hash_id(cookie)]).fetchone()[0]
        assert gone == 0
        # typing the password again re-opens the key in the new process
        relogged = login(other, "siti")
        assert keys.current_key(restarted.store.read())[0] in restarted.keyring.get(_session_hash(relogged))
        assert NIK in other.get(f"/kiosk/requests/{dom['tracking_code']}").get_data(as_text=True)
    finally:
        restarted.close()


def test_expired_session_drops_its_keys(client, node, dom):
    add_officer(node, "siti")
    id_hash = _session_hash(login(client, "siti"))
    node.store.write(lambda db: db.execute("UPDATE kiosk_sessions SET last_seen_at = '2000-01-01T00:00:00Z'"))
    assert client.get("/kiosk/queue").status_code == 303
    assert node.keyring.get(id_hash) is None


def test_disable_removes_the_key_and_enable_needs_a_reset(client, node, app, dom):
    add_officer(node, "kades", role="admin")
    add_officer(node, "budi")
    budi = app.test_client()
    budi_hash = _session_hash(login(budi, "budi"))
    assert node.keyring.get(budi_hash)
    login(client, "kades")
    token = hidden(client.get("/kiosk/officers").get_data(as_text=True))["csrf_token"]
    client.post("/kiosk/officers/budi/active", data={"csrf_token": token, "active": "0"})
    assert node.keyring.get(budi_hash) is None  # the live session's key left memory
    with pytest.raises(keys.KeyAccessError):
        keys.unlock(node.store.read(), "budi", PASSWORD)  # the old password opens nothing any more
    client.post("/kiosk/officers/budi/active", data={"csrf_token": token, "active": "1"})
    login(budi, "budi")
    html = budi.get(f"/kiosk/requests/{dom['tracking_code']}").get_data(as_text=True)
    assert NIK not in html and SEALED_NOTICE in html  # switched on again, but no key without a reset
    officers = client.get("/kiosk/officers").get_data(as_text=True)
    assert "perlu atur ulang kata sandi" in officers
    # a login by the key-holding admin does not quietly give it back
    login(app.test_client(), "kades")
    assert "budi" not in keys.ungranted(node.store.read())
    with pytest.raises(keys.KeyAccessError):
        keys.unlock(node.store.read(), "budi", PASSWORD)
    # the reset does, with the new password only
    node.store.write(lambda db: accounts.add_officer(db, "budi", NEW_PASSWORD, replace=True,
                                                     grant_with=node_keys_of(node)))
    assert keys.unlock(node.store.read(), "budi", NEW_PASSWORD)
    with pytest.raises(keys.KeyAccessError):
        keys.unlock(node.store.read(), "budi", PASSWORD)


def test_reset_without_the_key_leaves_the_officer_waiting(node):
    add_officer(node, "budi")
    result = node.store.write(lambda db: accounts.add_officer(db, "budi", NEW_PASSWORD, replace=True))
    assert result["granted"] is False and keys.ungranted(node.store.read()) == ["budi"]
    assert keys.unlock(node.store.read(), "budi", NEW_PASSWORD) == {}  # old grants ended with the old pair
    with pytest.raises(keys.KeyAccessError):
        keys.unlock(node.store.read(), "budi", PASSWORD)


def test_admin_grants_waiting_officers_from_the_officers_page(client, node):
    add_officer(node, "kades", role="admin")
    login(client, "kades")
    add_officer(node, "ani", grant=False)  # added from the shell while kades is logged in
    page = client.get("/kiosk/officers").get_data(as_text=True)
    assert "menunggu kunci" in page
    answer = client.post("/kiosk/officers/grant", data={"csrf_token": hidden(page)["csrf_token"]})
    assert answer.status_code == 303 and keys.ungranted(node.store.read()) == []
    assert "Kunci node diberikan kepada 1 petugas" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_notes_are_sealed_on_disk_and_opened_for_a_key_holder(client, node, app, dom):
    add_officer(node, "siti")
    login(client, "siti")
    code = dom["tracking_code"]
    page = client.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    client.post(f"/kiosk/requests/{code}/status", data={**hidden(page), "status": "note",
                                                       "note": "diambil Siti Aminah sendiri"})
    (note, sealed, regional), = node.store.read().execute(
        "SELECT note, note_sealed, note_sealed_regional FROM status_events WHERE note_sealed IS NOT NULL").fetchall()
    assert note is None and b"Aminah" not in sealed and regional is None  # no regional key configured
    assert "diambil Siti Aminah sendiri" in client.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    # without a key: masked, in the kiosk and in history()
    add_officer(node, "budi", grant=False)
    budi = app.test_client()
    login(budi, "budi")
    assert "diambil Siti" not in budi.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    assert [e["note"] for e in cases.history(node.store.read(), dom["id"])] == [None, vault.SEALED]
    # retention NULLs the sealed copies too
    assert b"Aminah" not in _disk_bytes(node)


def _disk_bytes(node) -> bytes:
    path = node.config["storage.path"]
    data = b""
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as handle:
                data += handle.read()
        except FileNotFoundError:
            pass
    return data


def test_nik_search_goes_through_the_blind_index_and_the_disk_holds_no_nik(client, node, dom):
    mother = "3201015508900002"
    lahir = node.pipeline.submit(Submission("web", "LAHIR", {"child_name": "Budi Kecil",
                                                             "birth_date": "01-02-2024",
                                                             "mother_nik": mother})).request
    add_officer(node, "siti")
    login(client, "siti")  # login catches the index up
    db = node.store.read()
    indexed = {r[0] for r in db.execute("SELECT request_id FROM request_index")}
    assert {dom["id"], lahir["id"]} <= indexed
    # a request arriving after login is indexed at the next search
    later = node.pipeline.submit(Submission("sms", "SKTM", {"nik": "3201012309850003", "name": "Joko",
                                                            "purpose": "sekolah"})).request
    assert later["tracking_code"] in client.get("/kiosk/queue?q=3201012309850003").get_data(as_text=True)
    found = client.get(f"/kiosk/queue?q={mother}").get_data(as_text=True)
    assert lahir["tracking_code"] in found and dom["tracking_code"] not in found
    # the database holds no NIK in clear, not in requests, not in the index, not in the WAL
    data = _disk_bytes(node)
    for nik in (NIK, mother, "3201012309850003"):
        assert nik.encode() not in data
    assert b"Siti Aminah" not in data and b"Budi Kecil" not in data
    tokens = [r[0] for r in db.execute("SELECT token FROM request_index")]
    assert tokens and not any(NIK in t for t in tokens)


def test_the_session_sweep_job_forgets_keys_of_sessions_nobody_came_back_to(client, node, app):
    import datetime as dt

    from channels.kiosk import jobs

    add_officer(node, "siti")
    idle = _session_hash(login(client, "siti"))
    live = _session_hash(login(app.test_client(), "siti"))
    node.store.write(lambda db: db.execute("UPDATE kiosk_sessions SET last_seen_at = '2000-01-01T00:00:00Z' "
                                           "WHERE id_hash = ?", [idle]))
    jobs.sweep_sessions(node, Timeouts(idle=dt.timedelta(minutes=10), absolute=dt.timedelta(hours=8)))
    assert node.keyring.get(idle) is None and node.keyring.get(live)


def test_access_page_without_the_key_says_it_needs_one(client, node, dom):
    add_officer(node, "kades", role="admin", grant=False)
    login(client, "kades")
    token = hidden(client.get("/kiosk/access").get_data(as_text=True))["csrf_token"]
    answer = client.post("/kiosk/access", data={"csrf_token": token, "by": "nik", "value": NIK})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "memerlukan kunci node" in page
    assert dom["tracking_code"] not in page and "Siti Aminah" not in page


def test_portal_never_shows_a_sealed_note_and_retention_drops_it(client, node, dom):
    import datetime as dt

    from gateway import clock
    from gateway.privacy import retention

    node.vault.ready()
    # an internal note (a rejection's reason is the citizen's since #12: see test_notices.py)
    node.store.write(lambda db: cases.change_status(db, dom["id"], "in_progress", actor="ani",
                                                    note="NIK ibu salah ketik", internal=True, vault=node.vault))
    node.store.write(lambda db: cases.change_status(db, dom["id"], "rejected", actor="ani", note="berkas kurang"))
    track = client.get(f"/track/{dom['tracking_code']}").get_data(as_text=True)
    assert "salah ketik" not in track and vault.SEALED not in track
    closed_at = clock.to_iso(clock.now() - dt.timedelta(days=40))
    node.store.write(lambda db: cases.change_status(db, dom["id"], "closed", actor="ani", at=closed_at))
    node.store.write(lambda db: db.execute("UPDATE requests SET synced = 1"))
    assert node.store.write(lambda db: retention.purge(db, node.catalog, 30)) == 1
    left = node.store.read().execute("SELECT count(*) FROM status_events WHERE note_sealed IS NOT NULL "
                                     "OR note_sealed_regional IS NOT NULL OR note IS NOT NULL").fetchone()[0]
    assert left == 0
