"""The case workers' web view on the regional server: login, CSRF, list, detail, status, conflicts."""

from __future__ import annotations

import re

import pytest

from gateway.intake.codes import generate
from sync.protocol import wire
from sync.regional.app import create_regional_app
from sync.regional.engines import open_store
from sync.regional.web import hash_password

NIK = "3201011708900001"


@pytest.fixture
def regional(regional_engine):
    config = regional_engine.config()
    store = open_store(config)
    app = create_regional_app(config, store)
    yield app, store
    store.close()


def _seed(store, node="desa-1", name="Siti Aminah"):
    store.add_node(node)
    request = wire.decode_requests(wire.encode_requests([{
        "seq": 1, "id": f"{node}-req-1", "tracking_code": generate(), "service": "DOMISILI", "channel": "sms",
        "phone": "+6281234567890", "locale": "id", "officer": None, "created_at": "2026-11-23T08:00:00Z",
        "fields": {"nik": NIK, "name": name, "address": "Jl. Mawar 1"}}]))
    store.push_requests(node, 1, request)
    return request[0]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(client, store, username="ani", password="rahasia-kuat-1"):
    if store.password_hash(username) is None:
        store.add_user(username, hash_password(password))
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": _csrf(page.get_data(as_text=True))})


def test_pages_need_login(regional):
    app, store = regional
    client = app.test_client()
    for path in ("/", "/conflicts", "/requests/x"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_wrong_password_and_missing_csrf_are_refused(regional):
    app, store = regional
    client = app.test_client()
    store.add_user("ani", hash_password("rahasia-kuat-1"))
    assert store.password_hash("ani").startswith("$argon2id$")
    page = client.get("/login").get_data(as_text=True)
    bad = client.post("/login", data={"username": "ani", "password": "salah", "csrf_token": _csrf(page)})
    assert bad.status_code == 401 and "salah" in bad.get_data(as_text=True).lower()
    no_csrf = client.post("/login", data={"username": "ani", "password": "rahasia-kuat-1"})
    assert no_csrf.status_code == 400
    assert client.get("/").status_code == 302


def test_list_filter_detail_and_status_change(regional):
    app, store = regional
    first = _seed(store, "desa-1", "Siti Aminah")
    _seed(store, "desa-2", "Budi Santoso")
    client = app.test_client()
    assert _login(client, store).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert first["tracking_code"] in page and "desa-2" in page
    assert "Siti Aminah" not in page  # personal data only on the detail page
    filtered = client.get("/?node=desa-2").get_data(as_text=True)
    assert first["tracking_code"] not in filtered
    by_status = client.get("/?status=ready").get_data(as_text=True)
    assert first["tracking_code"] not in by_status

    detail = client.get(f"/requests/{first['id']}")
    assert detail.headers["Cache-Control"] == "no-store"
    html = detail.get_data(as_text=True)
    assert "Siti Aminah" in html and NIK in html and "diterima" in html
    # Status change without the token: refused, nothing changed.
    assert client.post(f"/requests/{first['id']}/status", data={"status": "ready"}).status_code == 400
    assert store.get_request(first["id"])["status"] == "received"
    moved = client.post(f"/requests/{first['id']}/status",
                        data={"status": "ready", "note": "bawa KTP", "csrf_token": _csrf(html)})
    assert moved.status_code == 302
    assert store.get_request(first["id"])["status"] == "ready"
    history = store.history(first["id"])
    assert history[-1]["actor"] == "ani" and history[-1]["origin"] == "regional"
    # A bogus status is not applied.
    client.post(f"/requests/{first['id']}/status", data={"status": "received", "csrf_token": _csrf(html)})
    assert store.get_request(first["id"])["status"] == "ready"
    en = client.get(f"/requests/{first['id']}?lang=en").get_data(as_text=True)
    assert "ready for pickup" in en


def test_conflicts_page_and_security_headers(regional):
    app, store = regional
    original = _seed(store)
    changed = dict(original, fields=dict(original["fields"], name="Orang Lain"))
    summary = store.push_requests("desa-1", 2, [changed])
    assert summary["conflicts"] == 1
    client = app.test_client()
    _login(client, store)
    resp = client.get("/conflicts")
    html = resp.get_data(as_text=True)
    assert original["id"] in html and "isi berbeda" in html
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert store.get_request(original["id"])["fields"]["name"] == "Siti Aminah"
    detail = client.get(f"/requests/{original['id']}").get_data(as_text=True)
    assert "Orang Lain" in detail  # the later version is shown for comparison, not applied
    conflict_id = store.conflicts()[0]["id"]
    assert client.post(f"/conflicts/{conflict_id}/resolve").status_code == 400  # no CSRF token
    assert client.post(f"/conflicts/{conflict_id}/resolve", data={"csrf_token": _csrf(html)}).status_code == 302
    assert store.conflicts()[0]["resolved_by"] == "ani"
    assert store.stats()["open_conflicts"] == 0
    assert client.post(f"/conflicts/{conflict_id}/resolve", data={"csrf_token": _csrf(html)}).status_code == 404


def test_logout_needs_csrf_and_ends_session(regional):
    app, store = regional
    client = app.test_client()
    _login(client, store)
    html = client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": _csrf(html)}).status_code == 302
    assert client.get("/").status_code == 302


def test_open_redirect_after_login_is_refused(regional):
    app, store = regional
    client = app.test_client()
    store.add_user("ani", hash_password("rahasia-kuat-1"))
    page = client.get("/login?next=//evil.example").get_data(as_text=True)
    resp = client.post("/login?next=//evil.example", data={"username": "ani", "password": "rahasia-kuat-1",
                                                            "csrf_token": _csrf(page)})
    assert resp.headers["Location"] == "/"


def test_user_add_cli(tmp_path):
    from tests.syncenv import Regional

    server = Regional(tmp_path / "r")
    out = server.cli("regional", "user", "add", "budi", "--password-stdin", input="sandi-panjang-9\n")
    assert out.returncode == 0, out.stderr
    short = server.cli("regional", "user", "add", "cici", "--password-stdin", input="pendek\n")
    assert short.returncode == 2
    again = server.cli("regional", "user", "add", "budi", "--password-stdin", input="sandi-panjang-9\n")
    assert again.returncode == 1
    stored = server.query("SELECT password_hash FROM users WHERE username = 'budi'")[0][0]
    assert stored.startswith("$argon2id$") and "sandi" not in stored


def test_password_guessing_is_throttled_without_a_lockout_strangers_can_trigger(regional):
    """Regression (#13.4): 5 wrong passwords used to lock the case worker out for 15 minutes."""
    app, store = regional
    stranger = app.test_client()
    store.add_user("ani", hash_password("rahasia-kuat-1"))
    token = _csrf(stranger.get("/login").get_data(as_text=True))
    far = {"REMOTE_ADDR": "198.51.100.9"}
    for _ in range(4):
        bad = stranger.post("/login", data={"username": "ani", "password": "tebakan", "csrf_token": token},
                            environ_base=far)
        assert bad.status_code == 401
    fifth = stranger.post("/login", data={"username": "ani", "password": "tebakan", "csrf_token": token},
                          environ_base=far)
    assert fifth.status_code == 429 and "30 detik" in fifth.get_data(as_text=True)
    blocked = stranger.post("/login", data={"username": "ani", "password": "rahasia-kuat-1", "csrf_token": token},
                            environ_base=far)
    assert blocked.status_code == 429
    assert stranger.get("/").status_code == 302
    # Ani at her own desk (another address) logs in as usual.
    assert _login(app.test_client(), store).status_code == 302
