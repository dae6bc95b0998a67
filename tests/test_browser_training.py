"""Practice mode in real Chromium against a real ``simpul serve``: the banner, and nothing reaches the live node."""

from __future__ import annotations

import re

import pytest

from tests.browser_support import PASSWORD, shot, start_server, stop_server
from tests.conftest import NIK

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("training"), {"siti": "officer"})
    yield srv
    stop_server(srv)


def test_practice_banner_on_every_page_and_live_database_untouched(browser, server):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="id-ID")
    page = context.new_page()
    training_db = server.db_path.with_name("node-training.db")
    try:
        page.goto(f"{server.url}/kiosk/login")
        page.fill("input[name=username]", "siti")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.form button[type=submit], main button[type=submit]")
        page.wait_for_url(f"{server.url}/kiosk/")
        assert not page.is_visible(".training-banner")
        page.click("button:has-text('Latihan')")
        page.wait_for_url(f"{server.url}/kiosk/")
        banner = page.locator(".training-banner")
        assert banner.is_visible() and "LATIHAN" in banner.inner_text()
        assert training_db.exists()
        shot(page, "kiosk-training")

        page.click("a.tile:has-text('Surat Keterangan Domisili')")
        assert page.is_visible(".training-banner")
        page.fill("input[name=nik]", NIK)
        page.fill("input[name=name]", "Siti Latihan")
        page.fill("input[name=address]", "Dusun Krajan RT 02/03")
        page.fill("input[name=phone]", "0812 3456 7890")
        page.check("input[name=consent]")
        page.click("button:has-text('Kirim dan cetak tanda terima')")
        page.wait_for_url(re.compile(r".*/kiosk/receipt/.+"))
        code = page.inner_text(".r-code")
        page.emulate_media(media="print")  # what the thermal printer gets says it is no real receipt
        assert "LATIHAN" in page.inner_text(".receipt .r-training") and not page.is_visible(".training-banner")
        page.emulate_media(media="screen")
        page.goto(f"{server.url}/kiosk/queue")
        assert page.is_visible(".training-banner") and code in page.content()
        with server.db() as db:  # the live database of the running server
            assert db.execute("SELECT count(*) FROM requests").fetchone()[0] == 0
            assert db.execute("SELECT count(*) FROM outbound").fetchone()[0] == 0
            assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'training_start'").fetchone()[0] == 1

        page.click("button:has-text('Akhiri latihan')")
        page.wait_for_url(f"{server.url}/kiosk/")
        assert not page.is_visible(".training-banner")
        assert not training_db.exists()
        page.goto(f"{server.url}/kiosk/queue")
        assert code not in page.content()
    finally:
        context.close()
