"""The citizen portal in real headless Chromium (phone-sized) against a real ``simpul serve``."""

from __future__ import annotations

import re

import pytest

from gateway.intake import codes
from tests.browser_support import PASSWORD, shot, start_server, stop_server
from tests.conftest import NIK
from tests.kiosk_support import expected_modules, qr_modules

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("portal"), {"siti": "officer"})
    yield srv
    stop_server(srv)


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, locale="id-ID", java_script_enabled=False, is_mobile=True)
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:")) else external.append(r.url))
    yield page
    context.close()
    assert external == [], f"the page fetched something off this machine: {external}"


def _no_horizontal_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def _submit_domisili(page, server):
    page.goto(server.url + "/")
    page.click("a.button[href='/services/DOMISILI/apply']")
    page.fill("input[name=nik]", NIK)
    page.fill("input[name=name]", "Siti Aminah")
    page.fill("input[name=address]", "Dusun Krajan RT 02/03")
    page.check("input[name=consent]")
    page.click("button:has-text('Kirim permohonan')")
    page.wait_for_url(re.compile(r".*/track/.+\?new=1"))
    return page.inner_text("h1.code")


def test_citizen_submits_and_tracks_without_javascript(phone, server):
    phone.goto(server.url + "/")
    assert phone.is_visible("h1:has-text('Layanan Desa')")
    _no_horizontal_scroll(phone)
    shot(phone, "portal-services")
    phone.click("a[href='/services/LAHIR']")
    assert "3 hari kerja" in phone.inner_text("dl.facts")
    _no_horizontal_scroll(phone)
    phone.goto(server.url + "/services/DOMISILI/apply")
    phone.fill("input[name=nik]", "1234")
    phone.click("button:has-text('Kirim permohonan')")
    assert phone.inner_text("#e-nik") == "harus 16 digit"
    assert phone.is_visible("#e-name") and phone.is_visible("#e-consent")
    _no_horizontal_scroll(phone)
    shot(phone, "portal-form-errors")
    code = _submit_domisili(phone, server)
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code)
    assert "Permohonan Anda sudah diterima" in phone.inner_text(".alert.ok")
    svg = phone.locator("svg.qr").evaluate("e => e.outerHTML")
    assert qr_modules(svg) == expected_modules(f"{server.url}/track/{code}")
    _no_horizontal_scroll(phone)
    shot(phone, "portal-submitted")
    phone.reload()  # the track page, not the POST: nothing is submitted twice
    with server.db() as db:
        assert db.execute("SELECT channel, count(*) FROM requests GROUP BY channel").fetchall() == [("web", 1)]

    # track by typing the code, with a typo first
    phone.goto(server.url + "/track")
    data = code.replace("-", "")
    typo = data[:-1] + next(c for c in codes.ALPHABET if c != data[-1])
    phone.fill("input[name=code]", typo)
    phone.click("button:has-text('Lacak')")
    assert "Periksa kodenya" in phone.inner_text(".alert.error")
    phone.fill("input[name=code]", code.lower())
    phone.click("button:has-text('Lacak')")
    assert phone.url == f"{server.url}/track/{code}"
    text = phone.inner_text("main")
    assert "diterima" in text and NIK not in text and "Siti Aminah" not in text


def test_feedback_on_a_closed_request(phone, server, browser):
    code = _submit_domisili(phone, server)
    # the officer marks it ready and hands it over at the kiosk
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="id-ID")
    kiosk = context.new_page()
    kiosk.goto(f"{server.url}/kiosk/requests/{code}")
    kiosk.fill("input[name=username]", "siti")
    kiosk.fill("input[name=password]", PASSWORD)
    kiosk.click("button[type=submit]")
    kiosk.click("button:has-text('Tandai siap')")
    kiosk.click("button:has-text('Serahkan')")
    assert "selesai" in kiosk.inner_text("p .status")
    context.close()

    phone.goto(f"{server.url}/track/{code}")
    assert phone.is_visible("text=Bagaimana pelayanan kami?")
    phone.click("button:has-text('Kirim penilaian')")  # no rating chosen
    assert "Pilih nilai dari 1 sampai 5" in phone.inner_text(".alert.error")
    phone.check("input[name=rating][value='5']")
    phone.fill("textarea[name=comment]", "Cepat dan ramah")
    _no_horizontal_scroll(phone)
    shot(phone, "portal-feedback")
    phone.click("button:has-text('Kirim penilaian')")
    assert "Terima kasih atas penilaian Anda" in phone.inner_text("#feedback")
    assert phone.locator("input[name=rating]").count() == 0
    with server.db() as db:
        rows = db.execute("SELECT f.rating, f.comment, f.comment_sealed FROM feedback f "
                          "JOIN requests r ON r.id = f.request_id WHERE r.tracking_code = ?", [code]).fetchall()
    # Stored sealed (free text is personal data); the rating stays plain.
    assert [(r[0], r[1], r[2] is not None and b"ramah" not in r[2]) for r in rows] == [(5, "", True)]


def test_language_switch(phone, server):
    phone.goto(server.url + "/")
    phone.click("a[hreflang=en]")
    assert phone.is_visible("h1:has-text('Village services')")
    assert phone.get_attribute("html", "lang") == "en"
    phone.click("a[href='/services/KTP']")  # the cookie carries the choice to the next page
    assert phone.is_visible("text=ID card cover letter") and phone.is_visible("text=Requirements")
    shot(phone, "portal-service-en")
    phone.click("a[hreflang=id]")
    assert phone.is_visible("text=Surat Pengantar KTP") and phone.is_visible("text=Persyaratan")
