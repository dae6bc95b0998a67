"""Assisted submission at the kiosk and the printable receipt."""

from __future__ import annotations

import json
import re
import threading

import pytest

from tests.conftest import NIK, opened_fields
from tests.kiosk_support import add_officer, expected_modules, hidden, inline_svg, login, qr_modules

GOOD = {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03", "phone": "0812-3456-7890",
        "consent": "yes"}


@pytest.fixture
def kiosk(client, node):
    add_officer(node)
    login(client)
    return client


def _requests(node):
    return list(node.store.read().query("SELECT * FROM requests"))


def _form(kiosk, service="DOMISILI"):
    page = kiosk.get(f"/kiosk/new/{service}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_form_is_generated_from_the_catalog(kiosk):
    html = _form(kiosk)
    for name in ("nik", "name", "address", "phone", "consent", "csrf_token", "form_token", "citizen_locale"):
        assert f'name="{name}"' in html
    ktp = _form(kiosk, "KTP")
    assert '<select id="f-reason" name="reason"' in ktp and 'value="lost"' in ktp
    lahir = _form(kiosk, "LAHIR")
    assert 'name="birth_date" value="" type="date"' in lahir
    assert kiosk.get("/kiosk/new/NOPE").status_code == 404


def test_invalid_input_gets_inline_errors_and_stores_nothing(kiosk, node):
    tokens = hidden(_form(kiosk))
    response = kiosk.post("/kiosk/new/DOMISILI", data={**tokens, "nik": "12345", "name": "", "address": "x",
                                                        "phone": "12"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="e-nik">harus 16 digit' in html
    assert 'id="e-name">' in html and 'id="e-phone">' in html and 'id="e-consent">' in html
    assert 'value="12345"' in html  # what was typed is kept
    assert hidden(html)["form_token"] == tokens["form_token"]  # same token: a fix-and-resend is one request
    assert _requests(node) == []


def test_submit_goes_through_the_pipeline_with_channel_kiosk_and_officer(kiosk, node):
    tokens = hidden(_form(kiosk))
    response = kiosk.post("/kiosk/new/DOMISILI", data={**tokens, **GOOD, "citizen_locale": "en"})
    assert response.status_code == 303
    code = response.headers["Location"].rsplit("/", 1)[1]
    [row] = _requests(node)
    assert row["tracking_code"] == code and row["channel"] == "kiosk" and row["officer"] == "siti"
    assert row["phone"] == "+6281234567890" and row["locale"] == "en"
    # personal values only sealed on disk; the node key (through the recovery code) opens them
    assert json.loads(row["fields"]) == {} and NIK.encode() not in row["sealed"]
    assert opened_fields(node, row) == {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}
    assert row["channel_message_id"] and row["channel_message_id"] not in tokens["csrf_token"]
    event = node.store.read().execute("SELECT status, actor FROM status_events").fetchone()
    assert event == ("received", "siti")


def test_double_click_and_reload_create_one_request(kiosk, node):
    data = {**hidden(_form(kiosk)), **GOOD}
    results: list[str] = []

    session_id = kiosk.get_cookie("simpul_kiosk", path="/kiosk").value

    def post():
        tab = kiosk.application.test_client()
        tab.set_cookie("simpul_kiosk", session_id, path="/kiosk")
        results.append(tab.post("/kiosk/new/DOMISILI", data=data).headers.get("Location"))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    again = kiosk.post("/kiosk/new/DOMISILI", data=data)  # a reload of the POST
    assert len(_requests(node)) == 1
    assert set(results) == {again.headers["Location"]}
    # a fresh form is a new request
    kiosk.post("/kiosk/new/DOMISILI", data={**hidden(_form(kiosk)), **GOOD})
    assert len(_requests(node)) == 2


def test_forged_form_token_is_refused(kiosk, node):
    tokens = hidden(_form(kiosk))
    for forged in ("abc.def", "nonsense", tokens["form_token"].split(".")[0] + ".x"):
        response = kiosk.post("/kiosk/new/DOMISILI", data={**tokens, **GOOD, "form_token": forged})
        assert response.status_code == 400
    assert _requests(node) == []


def _receipt(kiosk, **extra):
    response = kiosk.post("/kiosk/new/DOMISILI", data={**hidden(_form(kiosk)), **GOOD, **extra})
    page = kiosk.get(response.headers["Location"])
    assert page.status_code == 200
    return response.headers["Location"].rsplit("/", 1)[1], page.get_data(as_text=True)


def test_receipt_has_code_service_date_requirements_and_a_qr_of_the_track_url(kiosk, config):
    code, html = _receipt(kiosk)
    assert f'<p class="r-code">{code}</p>' in html
    assert "Surat Keterangan Domisili" in html and "KTP, KK, surat pengantar RT/RW" in html
    assert re.search(r"\d{1,2} \w{3} \d{4} \d{2}:\d{2}", html)
    url = f"http://{config['http.host']}:{config['http.port']}/track/{code}"
    svg = inline_svg(html)
    assert qr_modules(svg) == expected_modules(url)
    assert qr_modules(svg) != expected_modules(url + "x")
    assert "@media print" in kiosk.get("/static/simpul.css").get_data(as_text=True)
    assert NIK not in html and "Siti Aminah" not in html  # the slip leaves the office: no personal data


def test_receipt_uses_public_url_and_the_citizens_language(tmp_path):
    from gateway.app import create_app
    from gateway.config.loader import load_config
    from gateway.node import Node

    config = load_config(overrides={"storage": {"path": str(tmp_path / "t.db")}, "jobs": {"enabled": False},
                                    "node": {"public_url": "https://desa.example.id/"}})
    node = Node(config)
    try:
        client = create_app(config=config, node=node).test_client()
        add_officer(node)
        login(client)
        code, html = _receipt(client, citizen_locale="en")
        assert qr_modules(inline_svg(html)) == expected_modules(f"https://desa.example.id/track/{code}")
        assert "Proof of request" in html and "Domicile certificate" in html
    finally:
        node.close()
    css = "58mm"
    assert css in (__import__("importlib").resources.files("kiosk_ui") / "static" / "simpul.css").read_text()
