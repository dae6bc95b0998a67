"""Officer accounts, login, sessions, throttling and CSRF on the kiosk."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from channels.kiosk import accounts, sessions
from channels.kiosk.errors import AccountError
from gateway import clock
from gateway.web.sessions import hash_id
from gateway.web.throttle import Policy
from tests.conftest import run_cli, write_config
from tests.kiosk_support import PASSWORD, add_officer, hidden, login


@pytest.fixture
def officer(node):
    add_officer(node)
    return "siti"


def _session_rows(node):
    return list(node.store.read().query("SELECT * FROM kiosk_sessions"))


def test_password_hash_is_argon2id_with_owasp_parameters(node, officer):
    stored = node.store.read().execute("SELECT password_hash FROM officers").fetchone()[0]
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored


def test_add_officer_refuses_short_password_bad_role_and_duplicates(node, officer):
    with pytest.raises(AccountError):
        node.store.write(lambda db: accounts.add_officer(db, "budi", "short", "officer"))
    with pytest.raises(AccountError):
        node.store.write(lambda db: accounts.add_officer(db, "budi", PASSWORD, "boss"))
    with pytest.raises(AccountError):
        node.store.write(lambda db: accounts.add_officer(db, "SITI", PASSWORD, "officer"))
    with pytest.raises(AccountError):
        node.store.write(lambda db: accounts.add_officer(db, "bad name!", PASSWORD, "officer"))


def test_cli_officer_add_reads_stdin_and_refuses_short_passwords(tmp_path):
    cfg = write_config(tmp_path / "c.toml", f'[storage]\npath = "{tmp_path / "n.db"}"\n')
    ok = run_cli("--config", str(cfg), "officer", "add", "Budi", "--role", "admin", "--password-stdin",
                 cwd=tmp_path, input="sangat-rahasia\n")
    assert ok.returncode == 0, ok.stderr
    assert "budi" in ok.stdout
    short = run_cli("--config", str(cfg), "officer", "add", "ani", "--password-stdin", cwd=tmp_path, input="1234567\n")
    assert short.returncode == 2 and "8" in short.stderr
    again = run_cli("--config", str(cfg), "officer", "add", "budi", "--password-stdin", cwd=tmp_path,
                    input="sangat-rahasia\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    reset = run_cli("--config", str(cfg), "officer", "add", "budi", "--reset", "--password-stdin", cwd=tmp_path,
                    input="rahasia-baru-sekali\n")
    assert reset.returncode == 0, reset.stderr
    db = sqlite3.connect(tmp_path / "n.db")
    rows = db.execute("SELECT username, role FROM officers ORDER BY username").fetchall()
    assert rows == [("budi", "officer")]
    officer = {"password_hash": db.execute("SELECT password_hash FROM officers").fetchone()[0], "active": 1}
    assert accounts.verify(officer, "rahasia-baru-sekali") and not accounts.verify(officer, "sangat-rahasia")


def test_cli_officer_add_prompts_twice_without_stdin_flag(tmp_path):
    cfg = write_config(tmp_path / "c.toml", f'[storage]\npath = "{tmp_path / "n.db"}"\n')
    mismatch = run_cli("--config", str(cfg), "officer", "add", "ani", cwd=tmp_path, input="satu-dua-tiga\nlain-lagi-ya\n")
    assert mismatch.returncode != 0
    ok = run_cli("--config", str(cfg), "officer", "add", "ani", cwd=tmp_path, input="satu-dua-tiga\nsatu-dua-tiga\n")
    assert ok.returncode == 0, ok.stderr
    assert "satu-dua-tiga" not in ok.stdout + ok.stderr


def test_pages_require_login(client):
    for path in ("/kiosk/", "/kiosk/queue", "/kiosk/dashboard", "/kiosk/sync", "/kiosk/new/DOMISILI"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/kiosk/login?next=")
    assert client.post("/kiosk/sync").status_code == 303


def test_login_sets_strict_httponly_cookie_and_new_session_id(client, node, officer):
    client.set_cookie(sessions.COOKIE, "planted-by-attacker", path="/kiosk")
    response = login(client)
    assert response.status_code == 303 and response.headers["Location"] == "/kiosk/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/kiosk" in cookie
    new_id = client.get_cookie(sessions.COOKIE, path="/kiosk").value
    assert new_id != "planted-by-attacker"
    rows = _session_rows(node)
    assert len(rows) == 1 and rows[0]["id_hash"] == hash_id(new_id)  # only the hash is stored
    assert client.get("/kiosk/").status_code == 200
    first = new_id
    # Logging in again (e.g. another officer on the same screen) rotates the id, drops the old row.
    token = client.get_cookie("simpul_csrf")
    assert token is not None
    from gateway.web import csrf

    with client.application.test_request_context():
        csrf_token = csrf.token(token.value)
    again = client.post("/kiosk/login", data={"username": "siti", "password": PASSWORD, "csrf_token": csrf_token})
    assert again.status_code == 303
    assert client.get_cookie(sessions.COOKIE, path="/kiosk").value != first
    assert len(_session_rows(node)) == 1


def test_wrong_password_and_unknown_user_look_the_same(client, officer):
    bad = login(client, password="salah-sekali")
    unknown = login(client, username="nobody")
    assert bad.status_code == unknown.status_code == 401
    assert "Nama pengguna atau kata sandi salah" in bad.get_data(as_text=True)
    assert "Nama pengguna atau kata sandi salah" in unknown.get_data(as_text=True)
    assert client.get("/kiosk/").status_code == 303


def test_login_without_csrf_token_is_refused(client, node, officer):
    client.get("/kiosk/login")
    response = client.post("/kiosk/login", data={"username": "siti", "password": PASSWORD})
    assert response.status_code == 400
    assert _session_rows(node) == []


def test_failed_logins_are_throttled_per_user_and_address_without_lockout(client, node, officer):
    attacker = {"REMOTE_ADDR": "10.0.0.66"}
    for _ in range(4):
        assert login(client, password="tebak-tebak", **attacker).status_code == 401
    fifth = login(client, password="tebak-tebak", **attacker)
    assert fifth.status_code == 429 and "30 detik" in fifth.get_data(as_text=True)
    # Even the right password waits: the attacker learns nothing while blocked.
    assert login(client, password=PASSWORD, **attacker).status_code == 429
    # The officer at the kiosk (another address) is not locked out.
    kiosk = client.application.test_client()
    assert login(kiosk, REMOTE_ADDR="192.168.1.10").status_code == 303
    # When the wait is over, a correct login works and clears the counter.
    node.store.write(lambda db: db.execute("UPDATE login_failures SET blocked_until = ?",
                                           [clock.to_iso(clock.now() - dt.timedelta(seconds=1))]))
    assert login(client, **attacker).status_code == 303
    assert node.store.read().execute("SELECT count(*) FROM login_failures").fetchone()[0] == 0


def test_throttle_delay_doubles_up_to_the_cap():
    policy = Policy(free=5, max_delay=900)
    assert [policy.delay_after(n) for n in range(1, 11)] == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900]
    assert policy.delay_after(10_000) == 900


def test_idle_timeout_ends_the_session(client, node, officer):
    login(client)
    assert client.get("/kiosk/queue").status_code == 200
    idle = clock.to_iso(clock.now() - dt.timedelta(minutes=10, seconds=1))
    node.store.write(lambda db: db.execute("UPDATE kiosk_sessions SET last_seen_at = ?", [idle]))
    response = client.get("/kiosk/queue")
    assert response.status_code == 303 and "expired=1" in response.headers["Location"]
    assert _session_rows(node) == []
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sesi Anda berakhir" in page


def test_activity_keeps_the_session_alive_until_the_absolute_timeout(client, node, officer):
    login(client)
    recent = clock.to_iso(clock.now() - dt.timedelta(minutes=9))
    node.store.write(lambda db: db.execute("UPDATE kiosk_sessions SET last_seen_at = ?", [recent]))
    assert client.get("/kiosk/").status_code == 200
    assert _session_rows(node)[0]["last_seen_at"] > recent  # touched
    old = clock.to_iso(clock.now() - dt.timedelta(hours=8))
    node.store.write(lambda db: db.execute("UPDATE kiosk_sessions SET created_at = ?", [old]))
    assert client.get("/kiosk/").status_code == 303


def test_idle_timeout_is_configurable(tmp_path):
    from gateway.app import create_app
    from gateway.config.loader import load_config
    from gateway.node import Node

    config = load_config(overrides={"storage": {"path": str(tmp_path / "t.db")}, "jobs": {"enabled": False},
                                    "kiosk": {"idle_timeout_minutes": 2}})
    node = Node(config)
    try:
        client = create_app(config=config, node=node).test_client()
        add_officer(node)
        login(client)
        page = client.get("/kiosk/").get_data(as_text=True)
        assert 'http-equiv="refresh" content="125;' in page
        stale = clock.to_iso(clock.now() - dt.timedelta(minutes=2, seconds=1))
        node.store.write(lambda db: db.execute("UPDATE kiosk_sessions SET last_seen_at = ?", [stale]))
        assert client.get("/kiosk/").status_code == 303
    finally:
        node.close()


def test_logout_deletes_the_session(client, node, officer):
    login(client)
    token = hidden(client.get("/kiosk/").get_data(as_text=True))["csrf_token"]
    response = client.post("/kiosk/logout", data={"csrf_token": token})
    assert response.status_code == 303 and "bye=1" in response.headers["Location"]
    assert _session_rows(node) == []
    assert client.get("/kiosk/").status_code == 303


def test_post_without_valid_csrf_token_is_rejected_before_any_write(client, node, officer):
    login(client)
    node.pipeline  # noqa: B018
    form = hidden(client.get("/kiosk/new/ADUAN").get_data(as_text=True))
    data = {"message": "jalan rusak", "consent": "yes", "form_token": form["form_token"]}
    real = form["csrf_token"]
    for token in (None, "forged", real[:-1] + ("y" if real.endswith("x") else "x")):
        payload = dict(data, **({"csrf_token": token} if token else {}))
        assert client.post("/kiosk/new/ADUAN", data=payload).status_code == 400
    assert node.store.read().execute("SELECT count(*) FROM requests").fetchone()[0] == 0
    # A token from another officer's session does not work either.
    add_officer(node, "budi")
    other = client.application.test_client()
    login(other, "budi")
    other_token = hidden(other.get("/kiosk/").get_data(as_text=True))["csrf_token"]
    assert client.post("/kiosk/new/ADUAN", data=dict(data, csrf_token=other_token)).status_code == 400
    assert client.post("/kiosk/new/ADUAN", data=dict(data, csrf_token=form["csrf_token"])).status_code == 303


def test_next_parameter_cannot_redirect_off_site(client, officer):
    page = client.get("/kiosk/login?next=//evil.example/x").get_data(as_text=True)
    data = hidden(page)
    assert data["next"] == "/kiosk/"
    data.update(username="siti", password=PASSWORD, next="https://evil.example/")
    assert client.post("/kiosk/login", data=data).headers["Location"] == "/kiosk/"
    client.post("/kiosk/logout")


def test_session_cookie_alone_does_not_survive_an_officer_reset(client, node, officer):
    login(client)
    node.store.write(lambda db: accounts.add_officer(db, "siti", "kata-sandi-baru", "officer", replace=True))
    assert client.get("/kiosk/").status_code == 303


def test_verify_refuses_inactive_unknown_and_overlong(node):
    long_pw = "x" * accounts.MAX_PASSWORD_LENGTH
    node.store.write(lambda db: accounts.add_officer(db, "panjang", long_pw, "officer"))
    officer = accounts.get_officer(node.store.read(), "PANJANG")
    assert accounts.verify(officer, long_pw)
    assert not accounts.verify(officer, long_pw + "y")  # not silently truncated
    assert not accounts.verify(None, long_pw)
    node.store.write(lambda db: db.execute("UPDATE officers SET active = 0"))
    assert not accounts.verify(accounts.get_officer(node.store.read(), "panjang"), long_pw)
