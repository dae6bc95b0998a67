"""An officer changes their own password at the kiosk and keeps the node key."""

from __future__ import annotations

import re

import pytest

from gateway.intake.pipeline import Submission
from gateway.privacy import audit, keys
from gateway.web.sessions import hash_id
from tests.conftest import NIK
from tests.kiosk_support import PASSWORD, add_officer, hidden, login

NEW = "kata-sandi-baru-sekali"


@pytest.fixture
def dom(node):
    return node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": NIK, "name": "Siti Aminah",
                                                               "address": "Dusun Krajan"},
                                           sender="081234567890")).request


def _change(client, current=PASSWORD, new=NEW, confirm=None, *, csrf=True, lang=None):
    page = client.get("/kiosk/password").get_data(as_text=True)
    data = {"current_password": current, "new_password": new,
            "confirm_password": new if confirm is None else confirm}
    if csrf:
        data["csrf_token"] = hidden(page)["csrf_token"]
    return client.post("/kiosk/password" + (f"?lang={lang}" if lang else ""), data=data)


def _hash_of(node, username="siti"):
    return node.store.read().execute("SELECT password_hash FROM officers WHERE username = ?",
                                     [username]).fetchone()[0]


def _slot_of(node, username="siti"):
    return node.store.read().execute("SELECT slot FROM key_holders WHERE name = ?", [username]).fetchone()


def _audit(node, action):
    return list(node.store.read().query("SELECT actor, subject, details FROM audit_log WHERE action = ?",
                                        [action]))


def test_change_keeps_the_node_key_and_only_the_new_password_works(client, node, app, dom):
    add_officer(node, "siti")
    login(client, "siti")
    before = _slot_of(node)
    response = _change(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/kiosk/password?done=1")
    page = client.get("/kiosk/password?done=1").get_data(as_text=True)
    assert "Kata sandi Anda telah diganti" in page
    assert _slot_of(node) != before  # re-wrapped, not left under the old password
    current_kid = keys.current_key(node.store.read())[0]
    assert current_kid in keys.unlock(node.store.read(), "siti", NEW)  # the grant survived
    with pytest.raises(keys.KeyAccessError):
        keys.unlock(node.store.read(), "siti", PASSWORD)
    assert [(e["actor"], e["subject"], e["details"]) for e in _audit(node, audit.PASSWORD_CHANGED)] == [
        ("siti", "siti", '{"slot":"rewrapped"}')]
    assert audit.verify(node.store.read()).ok

    assert login(app.test_client(), "siti", PASSWORD).status_code == 401
    fresh = app.test_client()
    assert login(fresh, "siti", NEW).status_code == 303
    html = fresh.get(f"/kiosk/requests/{dom['tracking_code']}").get_data(as_text=True)
    assert NIK in html and "Siti Aminah" in html  # personal data still opens with the new password


def test_other_sessions_end_and_this_one_stays(client, node, app):
    add_officer(node, "siti")
    other = app.test_client()
    login(other, "siti")
    mine = login(client, "siti")
    mine_hash = hash_id(re.search(r"simpul_kiosk=([^;]+)", mine.headers["Set-Cookie"]).group(1))
    assert len(node.keyring) == 2
    assert _change(client).status_code == 303
    assert client.get("/kiosk/queue").status_code == 200
    assert other.get("/kiosk/queue").status_code == 303  # back to the login page
    assert [r[0] for r in node.store.read().execute("SELECT id_hash FROM kiosk_sessions")] == [mine_hash]
    assert len(node.keyring) == 1 and node.keyring.get(mine_hash) is not None


@pytest.mark.parametrize(("new", "confirm", "message"), [
    (NEW, NEW + "x", "Kedua kata sandi baru tidak sama"),
    ("pendek", "pendek", "Kata sandi minimal 8 karakter"),
    (PASSWORD, PASSWORD, "harus berbeda dari kata sandi saat ini"),
    ("x" * 1025, "x" * 1025, "paling banyak 1024 karakter"),
])
def test_bad_new_password_is_refused_with_a_message_and_nothing_changes(client, node, new, confirm, message):
    add_officer(node, "siti")
    login(client, "siti")
    stored, slot = _hash_of(node), _slot_of(node)
    response = _change(client, new=new, confirm=confirm)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert (_hash_of(node), _slot_of(node)) == (stored, slot)
    assert _audit(node, audit.PASSWORD_CHANGED) == []


def test_wrong_current_password_is_audited_and_throttled(client, node):
    add_officer(node, "siti")
    login(client, "siti")
    stored = _hash_of(node)
    response = _change(client, current="bukan-kata-sandinya")
    assert response.status_code == 401
    assert "Kata sandi saat ini salah" in response.get_data(as_text=True)
    english = _change(client, current="bukan-kata-sandinya", lang="en")
    assert "Your current password is not correct." in english.get_data(as_text=True)
    failed = _audit(node, audit.LOGIN_FAILED)
    assert len(failed) == 2 and all('"form":"password"' in e["details"] for e in failed)
    statuses = [_change(client, current=f"tebakan-{i}").status_code for i in range(4)]
    assert statuses[-1] == 429  # the login throttle's free attempts (5) are used up
    # even the right password waits now: guessing from an open kiosk gains nothing
    assert _change(client).status_code == 429
    assert _hash_of(node) == stored and _audit(node, audit.PASSWORD_CHANGED) == []


def test_without_csrf_token_nothing_changes(client, node):
    add_officer(node, "siti")
    login(client, "siti")
    stored = _hash_of(node)
    assert _change(client, csrf=False).status_code == 400
    assert _hash_of(node) == stored


def test_needs_a_session(client, node):
    add_officer(node, "siti")
    response = client.post("/kiosk/password", data={"current_password": PASSWORD, "new_password": NEW,
                                                    "confirm_password": NEW})
    assert response.status_code == 303 and "/kiosk/login" in response.headers["Location"]


def test_waiting_officer_keeps_waiting_and_a_revoked_one_gets_no_key_back(client, node, app):
    add_officer(node, "budi", grant=False)
    login(client, "budi")
    assert _change(client).status_code == 303
    assert keys.ungranted(node.store.read()) == ["budi"]  # still a holder, still waiting
    assert keys.unlock(node.store.read(), "budi", NEW) == {}

    add_officer(node, "kades", role="admin")
    admin = app.test_client()
    login(admin, "kades")  # grants budi on the way
    add_officer(node, "lina")
    html = admin.get("/kiosk/officers").get_data(as_text=True)
    token = hidden(html)["csrf_token"]
    admin.post("/kiosk/officers/lina/active", data={"csrf_token": token, "active": "0"})
    admin.post("/kiosk/officers/lina/active", data={"csrf_token": token, "active": "1"})
    lina = app.test_client()
    login(lina, "lina")
    assert _change(lina).status_code == 303
    assert _slot_of(node, "lina") is None  # switched off once: only a reset gives the key back
    assert [e["details"] for e in _audit(node, audit.PASSWORD_CHANGED) if e["actor"] == "lina"] == [
        '{"slot":"none"}']
    assert login(app.test_client(), "lina", NEW).status_code == 303


def test_change_for_a_switched_off_officer_changes_nothing(node):
    from channels.kiosk import accounts
    from channels.kiosk.errors import AccountError

    add_officer(node, "siti")
    node.store.write(lambda db: db.execute("UPDATE officers SET active = 0 WHERE username = 'siti'"))
    stored, slot = _hash_of(node), _slot_of(node)
    with pytest.raises(AccountError):
        node.store.write(lambda db: accounts.change_password(db, "siti", PASSWORD, NEW))
    assert (_hash_of(node), _slot_of(node)) == (stored, slot)  # the write job rolled back as a whole
    assert _audit(node, audit.PASSWORD_CHANGED) == []
