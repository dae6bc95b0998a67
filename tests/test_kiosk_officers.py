"""Admin page: officer accounts can be switched off (ending their sessions) and on again."""

from __future__ import annotations

from tests.kiosk_support import add_officer, hidden, login


def test_officers_page_is_for_admins_only(client, node):
    add_officer(node, "siti", role="officer")
    login(client, "siti")
    response = client.get("/kiosk/officers")
    assert response.status_code == 403 and "Hanya administrator" in response.get_data(as_text=True)
    assert 'href="/kiosk/officers"' not in client.get("/kiosk/").get_data(as_text=True)


def test_admin_switches_an_officer_off_and_on(client, node, app):
    add_officer(node, "kades", role="admin")
    add_officer(node, "budi")
    budi = app.test_client()
    login(budi, "budi")
    assert budi.get("/kiosk/queue").status_code == 200
    login(client, "kades")
    page = client.get("/kiosk/officers").get_data(as_text=True)
    assert "budi" in page and "kades" in page
    token = hidden(page)["csrf_token"]
    assert client.post("/kiosk/officers/budi/active", data={"csrf_token": token, "active": "0"}).status_code == 303
    assert budi.get("/kiosk/queue").status_code == 303  # session ended at once
    assert login(budi, "budi").status_code == 401  # and the account cannot log in
    assert client.post("/kiosk/officers/budi/active", data={"csrf_token": token, "active": "1"}).status_code == 303
    assert login(budi, "budi").status_code == 303
    # not yourself, not a stranger, not without the token
    self_off = client.post("/kiosk/officers/kades/active", data={"csrf_token": token, "active": "0"})
    assert "error=self" in self_off.headers["Location"]
    assert client.post("/kiosk/officers/nobody/active", data={"csrf_token": token, "active": "0"}).status_code == 404
    assert client.post("/kiosk/officers/budi/active", data={"active": "0"}).status_code == 400
    active = dict(node.store.read().execute("SELECT username, active FROM officers").fetchall())
    assert active == {"budi": 1, "kades": 1}


def test_unknown_request_gets_a_localized_404(client, node):
    add_officer(node)
    login(client)
    response = client.get("/kiosk/requests/ABCDE-12345")
    assert response.status_code == 404 and "Tidak ditemukan" in response.get_data(as_text=True)
    assert client.get("/services/NOPE").headers["X-Content-Type-Options"] == "nosniff"
