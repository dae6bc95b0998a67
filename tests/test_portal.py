"""The citizen portal: services, submit, track, feedback, language, headers, weight."""

from __future__ import annotations

import json
import re

import pytest

from channels.web import feedback
from gateway.cases import records as cases
from gateway.intake import codes
from gateway.intake.pipeline import Submission
from gateway.privacy import vault
from tests.conftest import NIK, node_keys_of, opened_fields
from tests.kiosk_support import add_officer, expected_modules, hidden, inline_svg, login, qr_modules

GOOD = {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03", "consent": "yes"}


def _requests(node):
    return list(node.store.read().query("SELECT * FROM requests"))


def _apply(client, service="DOMISILI", **values):
    page = client.get(f"/services/{service}/apply").get_data(as_text=True)
    return client.post(f"/services/{service}/apply", data={**hidden(page), **values})


def test_index_lists_every_service_and_info_pages_show_requirements(client, node):
    html = client.get("/").get_data(as_text=True)
    for service in node.catalog.services:
        assert service.text("name", "id") in html
        assert f'href="/services/{service.code}"' in html
    info = client.get("/services/LAHIR").get_data(as_text=True)
    assert "Surat keterangan lahir dari bidan/RS" in info and "Gratis" in info and "3 hari kerja" in info
    assert "LAHIR#" in info
    assert client.get("/services/NOPE").status_code == 404


def test_submit_creates_a_web_request_and_shows_code_and_qr(client, node, config):
    response = _apply(client, phone="081234567890", **GOOD)
    assert response.status_code == 303
    [row] = _requests(node)
    assert row["channel"] == "web" and row["officer"] is None and row["phone"] == "+6281234567890"
    assert "nik" not in json.loads(row["fields"]) and opened_fields(node, row)["nik"] == NIK
    assert response.headers["Location"] == f"/track/{row['tracking_code']}?new=1"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert row["tracking_code"] in html and "Permohonan Anda sudah diterima" in html
    url = f"http://{config['http.host']}:{config['http.port']}/track/{row['tracking_code']}"
    assert qr_modules(inline_svg(html)) == expected_modules(url)


def test_phone_is_optional_and_consent_is_required(client, node):
    no_consent = _apply(client, **{k: v for k, v in GOOD.items() if k != "consent"})
    assert no_consent.status_code == 422
    assert "Mohon centang persetujuan" in no_consent.get_data(as_text=True)
    assert _requests(node) == []
    assert _apply(client, **GOOD).status_code == 303
    assert _requests(node)[0]["phone"] is None


def test_validation_errors_use_the_catalog_validators(client, node):
    response = _apply(client, "LAHIR", child_name="", birth_date="2999-01-01", mother_nik="99", consent="yes")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-child_name">' in html and 'id="e-birth_date">' in html and 'id="e-mother_nik">' in html
    assert _requests(node) == []
    en = client.get("/services/LAHIR/apply?lang=en").get_data(as_text=True)
    response = client.post("/services/LAHIR/apply?lang=en", data={**hidden(en), "mother_nik": "99", "consent": "yes"})
    assert "must be 16 digits" in response.get_data(as_text=True)


def test_reload_of_the_post_does_not_duplicate(client, node):
    page = client.get("/services/ADUAN/apply").get_data(as_text=True)
    data = {**hidden(page), "message": "lampu jalan mati", "consent": "yes"}
    first = client.post("/services/ADUAN/apply", data=data)
    second = client.post("/services/ADUAN/apply", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_requests(node)) == 1


def test_forms_need_the_browser_csrf_cookie(client, node):
    page = client.get("/services/ADUAN/apply").get_data(as_text=True)
    data = {**hidden(page), "message": "x", "consent": "yes"}
    stranger = client.application.test_client()  # no cookie: a cross-site POST
    assert stranger.post("/services/ADUAN/apply", data=data).status_code == 400
    assert client.post("/services/ADUAN/apply", data={**data, "csrf_token": "x"}).status_code == 400
    assert _requests(node) == []
    cookie = client.get("/").headers.get("Set-Cookie")
    assert cookie is None or "simpul_csrf" not in cookie  # minted once per browser
    first = stranger.get("/services/ADUAN/apply")
    assert "simpul_csrf=" in first.headers["Set-Cookie"] and "SameSite=Strict" in first.headers["Set-Cookie"]


def _request(node, status=None):
    row = node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": NIK, "name": "Siti Aminah",
                                                              "address": "Dusun Krajan"}, sender="081234567890")).request
    for s in status or []:
        node.store.write(lambda db, s=s: cases.change_status(db, row["id"], s, actor="siti",
                                                            note="catatan internal" if s == "ready" else None))
    return row


def test_track_shows_status_and_history_without_personal_data(client, node):
    row = _request(node, ["in_progress", "ready"])
    html = client.get(f"/track/{row['tracking_code']}").get_data(as_text=True)
    assert "siap diambil" in html and "sedang diproses" in html and "diterima" in html
    for secret in (NIK, "Siti Aminah", "Krajan", "+6281234567890", "0812", "catatan internal", "siti"):
        assert secret not in html
    lowered = client.get(f"/track/{row['tracking_code'].lower().replace('-', '')}")
    assert lowered.status_code == 301 and lowered.headers["Location"].endswith(row["tracking_code"])


def test_track_form_and_bad_codes(client, node):
    row = _request(node)
    code = row["tracking_code"]
    found = client.get("/track", query_string={"code": code.lower()})
    assert found.status_code == 303 and found.headers["Location"] == f"/track/{code}"
    data = code.replace("-", "")
    wrong = data[:-1] + next(c for c in codes.ALPHABET if c != data[-1])
    i = next(i for i in range(len(data) - 1) if data[i] != data[i + 1])  # neighbours that differ
    swapped = data[:i] + data[i + 1] + data[i] + data[i + 2:]
    for typed in (wrong, swapped):
        response = client.get("/track", query_string={"code": typed})
        assert response.status_code == 400
        assert "Periksa kodenya" in response.get_data(as_text=True)
    bad = client.get(f"/track/{wrong}")
    assert bad.status_code == 400 and "Periksa kodenya" in bad.get_data(as_text=True)
    assert "10 huruf dan angka" in client.get("/track?code=hello").get_data(as_text=True)
    while True:
        other = codes.generate()
        if other != code:
            break
    missing = client.get(f"/track/{other}")
    assert missing.status_code == 404 and "Tidak ada permohonan" in missing.get_data(as_text=True)


def _token(client):
    from gateway.web import csrf

    client.get("/")
    with client.application.test_request_context():
        return csrf.token(client.get_cookie("simpul_csrf").value)


def _feedback(client, code, **data):
    return client.post(f"/track/{code}/feedback", data={"csrf_token": _token(client), **data})


def test_feedback_only_on_closed_requests_and_only_once(client, node):
    open_row = _request(node, ["ready"])
    assert 'name="rating"' not in client.get(f"/track/{open_row['tracking_code']}").get_data(as_text=True)
    assert _feedback(client, open_row["tracking_code"], rating="5").status_code == 409
    row = _request(node, ["ready", "closed"])
    code = row["tracking_code"]
    assert 'name="rating"' in client.get(f"/track/{code}").get_data(as_text=True)
    assert _feedback(client, code, rating="9").status_code == 422
    assert _feedback(client, code, rating="4", comment="x" * 501).status_code == 422
    assert _feedback(client, code, rating="4", comment="Cepat, terima kasih").status_code == 303
    html = client.get(f"/track/{code}").get_data(as_text=True)
    assert "Terima kasih atas penilaian Anda" in html and 'name="rating"' not in html
    assert _feedback(client, code, rating="1").status_code == 303  # a second try changes nothing
    assert client.post(f"/track/{code}/feedback", data={"rating": "1"}).status_code == 400
    rows = list(node.store.read().query("SELECT * FROM feedback"))
    # The comment is free text: stored only sealed to the node key, the rating stays plain.
    assert [(r["request_id"], r["rating"], r["comment"]) for r in rows] == [(row["id"], 4, "")]
    opener = node.vault.opener(node_keys_of(node))
    assert feedback.opened_comment(opener, row["id"], rows[0]["comment_sealed"]) == "Cepat, terima kasih"
    assert feedback.opened_comment(None, row["id"], rows[0]["comment_sealed"]) == vault.SEALED
    assert b"terima kasih" not in rows[0]["comment_sealed"]
    # A blob moved to another request does not open.
    assert feedback.opened_comment(opener, open_row["id"], rows[0]["comment_sealed"]) == vault.SEALED


def test_language_switch_by_query_and_cookie(client):
    assert "Layanan Desa" in client.get("/").get_data(as_text=True)
    english = client.get("/?lang=en")
    assert "Village services" in english.get_data(as_text=True) and 'lang="en"' in english.get_data(as_text=True)
    assert "lang=en" in english.headers["Set-Cookie"]
    assert "Village services" in client.get("/").get_data(as_text=True)  # the cookie remembers
    assert "Layanan Desa" in client.get("/?lang=id").get_data(as_text=True)
    assert "Layanan Desa" in client.get("/").get_data(as_text=True)
    assert "Layanan Desa" in client.get("/?lang=xx").get_data(as_text=True)


def _all_pages(client, node):
    row = _request(node, ["ready", "closed"])
    add_officer(node)
    pages = ["/", "/?lang=en", "/track", f"/track/{row['tracking_code']}", "/kiosk/login"]
    pages += [f"/services/{s.code}" for s in node.catalog.services]
    pages += [f"/services/{s.code}/apply" for s in node.catalog.services]
    yield from ((p, client.get(p)) for p in pages)
    yield "/track?code=zz", client.get("/track?code=zz")
    kiosk = client.application.test_client()
    login(kiosk)
    kiosk_pages = ["/kiosk/", "/kiosk/queue", f"/kiosk/requests/{row['tracking_code']}", "/kiosk/sync",
                   "/kiosk/dashboard", f"/kiosk/receipt/{row['tracking_code']}"]
    kiosk_pages += [f"/kiosk/new/{s.code}" for s in node.catalog.services]
    yield from ((p, kiosk.get(p)) for p in kiosk_pages)


def test_every_page_is_local_light_and_has_secure_headers(client, node):
    external = re.compile(r"""(?:src|href|action|url\()\s*=?\s*["']?(?:https?:)?//""", re.I)
    for path, response in _all_pages(client, node):
        assert response.status_code in (200, 400), path
        html = response.get_data(as_text=True)
        assert len(response.data) < 100 * 1024, path
        assert not external.search(html), path
        assert "<script>" not in html and " style=" not in html and "<style" not in html, path
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), path  # no inline event handlers
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Cache-Control"] == "no-store", path
    for asset in ("/static/simpul.css", "/static/kiosk.js"):
        response = client.get(asset)
        assert response.status_code == 200 and response.headers["X-Content-Type-Options"] == "nosniff"
        assert "http://" not in response.get_data(as_text=True) and "https://" not in response.get_data(as_text=True)
    assert client.get("/healthz").headers["X-Content-Type-Options"] == "nosniff"


def test_pages_are_readable_at_360_px(client):
    css = client.get("/static/simpul.css").get_data(as_text=True)
    assert "@media (max-width: 30rem)" in css
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/services/ADUAN/apply", "/track/ABCDE"])
def test_post_routes_refuse_get_or_bad_methods(client, path):
    assert client.delete(path).status_code == 405


def test_legacy_plaintext_comments_are_sealed_at_start(config, node):
    """A comment stored in clear by an older version is sealed the next time the app starts."""
    from gateway.app import create_app

    row = _request(node, ["ready", "closed"])
    node.store.write(lambda db: db.execute(
        "INSERT INTO feedback (request_id, rating, comment, locale, created_at) "
        "VALUES (?, 3, 'Lama, kata Pak Joko', 'id', 'x')", [row["id"]]))
    create_app(config=config, node=node)
    stored = node.store.read().execute("SELECT rating, comment, comment_sealed FROM feedback").fetchone()
    assert stored[:2] == (3, "") and stored[2] is not None
    opener = node.vault.opener(node_keys_of(node))
    assert feedback.opened_comment(opener, row["id"], stored[2]) == "Lama, kata Pak Joko"
