"""Case workers' sessions on the regional server (issue #13.4, #13.5): regression tests.

Server-side sessions checked against ``users`` on every request; logout,
password change and ``simpul regional user disable`` end them at once; idle
and absolute timeouts; ``next=`` only a local path; the database files 0600
in a 0700 folder; pages with the kiosk's stylesheet, language switch, local
dates and catalog labels.
"""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest

from gateway import clock
from sync.regional import accounts
from sync.regional.app import create_regional_app
from sync.regional.store import open_regional_store
from sync.regional.web import hash_password
from tests.test_sync_web import NIK, _csrf, _login, _seed


@pytest.fixture
def regional(tmp_path, regional_engine):
    config = regional_engine.config(tmp_path / "data")
    store = regional_engine.store(tmp_path / "data")
    app = create_regional_app(config, store)
    yield app, store
    store.close()


def _cookie(client) -> str:
    return client.get_cookie(accounts.COOKIE).value


def test_session_does_not_survive_logout(regional):
    app, store = regional
    client = app.test_client()
    _login(client, store)
    stolen = _cookie(client)
    html = client.get("/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": _csrf(html)}).status_code == 302
    replay = app.test_client()
    replay.set_cookie(accounts.COOKIE, stolen)
    assert replay.get("/").status_code == 302  # the cookie is worthless once logged out
    assert store.read().execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 0


def test_disable_and_password_change_end_sessions_at_once(regional, tmp_path):
    app, store = regional
    desk, laptop = app.test_client(), app.test_client()
    _login(desk, store)
    _login(laptop, store)
    html = desk.get("/password").get_data(as_text=True)
    changed = desk.post("/password", data={"csrf_token": _csrf(html), "current_password": "rahasia-kuat-1",
                                           "new_password": "baru-dan-kuat-2", "confirm_password": "baru-dan-kuat-2"})
    assert changed.status_code == 302
    assert desk.get("/").status_code == 200  # the session that changed it stays
    assert laptop.get("/").status_code == 302  # every other one ended
    assert accounts.disable(store, "ani")
    assert desk.get("/").status_code == 302
    assert _login(app.test_client(), store, password="baru-dan-kuat-2").status_code == 401  # switched off
    assert not accounts.disable(store, "nobody")


def test_a_session_row_of_a_disabled_user_is_refused_even_if_left_behind(regional):
    app, store = regional
    client = app.test_client()
    _login(client, store)
    store.write(lambda db: db.execute("UPDATE users SET disabled_at = ?", [clock.utcnow()]))
    assert client.get("/").status_code == 302  # checked against users on every request


def test_idle_and_absolute_timeouts(regional):
    app, store = regional
    client = app.test_client()
    _login(client, store)
    idle = clock.to_iso(clock.now() - dt.timedelta(minutes=31))
    store.write(lambda db: db.execute("UPDATE web_sessions SET last_seen_at = ?", [idle]))
    expired = client.get("/")
    assert expired.status_code == 302 and "expired=1" in expired.headers["Location"]
    _login(client, store)
    old = clock.to_iso(clock.now() - dt.timedelta(hours=10))
    store.write(lambda db: db.execute("UPDATE web_sessions SET created_at = ?", [old]))
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/\\\\evil.example",
                                    "https://evil.example/", "/%0a/evil.example", "%2F%2Fevil.example"])
def test_next_is_only_ever_a_local_path(regional, target):
    app, store = regional
    client = app.test_client()
    store.add_user("ani", hash_password("rahasia-kuat-1"))
    page = client.get("/login").get_data(as_text=True)
    resp = client.post(f"/login?next={target}", data={"username": "ani", "password": "rahasia-kuat-1",
                                                       "csrf_token": _csrf(page)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_next_keeps_a_local_page(regional):
    app, store = regional
    client = app.test_client()
    first = client.get("/conflicts?x=1")
    assert "next=%2Fconflicts%3Fx%3D1" in first.headers["Location"]
    store.add_user("ani", hash_password("rahasia-kuat-1"))
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    data = {"username": "ani", "password": "rahasia-kuat-1", "csrf_token": _csrf(page), "next": "/conflicts?x=1"}
    assert client.post("/login", data=data).headers["Location"] == "/conflicts?x=1"


def test_database_files_and_folder_are_private(tmp_path):
    folder = tmp_path / "fresh"
    store = open_regional_store(folder / "regional.db")  # SQLite; PostgreSQL below
    store.add_node("desa-1")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    for name in os.listdir(folder):
        if name.startswith("regional.db"):
            assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600, name
    store.close()
    os.chmod(folder / "regional.db", 0o644)  # left readable by an older version
    os.chmod(folder, 0o755)
    open_regional_store(folder / "regional.db").close()
    assert stat.S_IMODE(os.stat(folder / "regional.db").st_mode) == 0o600
    # An existing folder keeps the mode its operator gave it (gateway.storage.files.private_dir).


def test_case_page_uses_the_kiosk_look_local_dates_and_catalog_labels(regional):
    app, store = regional
    request = _seed(store)
    client = app.test_client()
    _login(client, store)
    html = client.get(f"/requests/{request['id']}").get_data(as_text=True)
    assert "/static/simpul.css" in html and "lang=en" in html
    assert "<dt>Nama</dt>" in html and "<dt>Alamat</dt>" in html and NIK in html
    assert "<dt>name</dt>" not in html and "<dt>address</dt>" not in html
    assert "Surat Keterangan Domisili" in html
    assert "23 Nov 2026 15.00" in html or "23 Nov 2026 15:00" in html  # 08:00Z in Asia/Jakarta
    en = client.get(f"/requests/{request['id']}?lang=en").get_data(as_text=True)
    assert "<dt>Address</dt>" in en and "Domicile certificate" in en


def test_key_files_beside_a_postgresql_database_are_private(tmp_path, regional_engine, monkeypatch):
    """On PostgreSQL the data lives in the cluster (its own 0700 data dir); what the server still
    keeps on disk - the sealing key and the CSRF key, next to regional.db - is 0600 in a 0700 folder."""
    monkeypatch.delenv("SIMPUL_SECRET_KEY", raising=False)
    monkeypatch.delenv("SIMPUL_REGIONAL_SEAL_KEY", raising=False)
    folder = tmp_path / "keys"
    config = regional_engine.config(folder)
    store = regional_engine.store(folder)
    create_regional_app(config, store)
    store.close()
    names = sorted(os.listdir(folder))
    assert {"regional_seal_key", "regional_secret_key"} <= set(names)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    for name in names:
        assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600, name


def test_login_throttle_reservation_is_atomic_on_both_engines(regional_engine):
    """Forty concurrent wrong logins for one (user, client) pair: exactly the free five get a password
    check, on PostgreSQL too (its READ COMMITTED needs the store's row_lock, SQLite serialises writers)."""
    import threading

    from gateway.web.throttle import Policy

    store = regional_engine.store()
    throttle = accounts.throttle(store)
    assert throttle.policy == Policy()
    barrier = threading.Barrier(40)
    allowed: list[bool] = []

    def go() -> None:
        barrier.wait()
        allowed.append(throttle.reserve("siti", "10.0.0.9").allowed)

    threads = [threading.Thread(target=go) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == Policy().free
    assert throttle.reserve("siti", "10.0.0.10").allowed  # another client: its own pair, no lockout
    store.close()


def test_user_disable_cli(tmp_path, regional_engine):
    from tests.syncenv import Regional

    server = Regional(tmp_path / "r", database_url=regional_engine.url)
    assert server.cli("regional", "user", "add", "budi", "--password-stdin", input="sandi-panjang-9\n").returncode == 0
    out = server.cli("regional", "user", "disable", "budi")
    assert out.returncode == 0, out.stderr
    assert server.query("SELECT disabled_at IS NOT NULL FROM users WHERE username = 'budi'")[0][0] == 1
    assert server.cli("regional", "user", "disable", "nobody").returncode == 1
