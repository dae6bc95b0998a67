"""#12 in real Chromium: a kiosk button tells the citizen, with the full reason and its segment count."""

from __future__ import annotations

import pytest

from tests.browser_support import PASSWORD, start_server, stop_server
from tests.conftest import NIK

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = "+6281234567890"
REASON = ("NIK ibu pada formulir tidak sama dengan KTP. Datang ke kantor desa hari Senin-Jumat pukul 08.00-14.00 "
          "dengan KTP asli ibu dan Kartu Keluarga, lalu ajukan lagi lewat SMS atau kios.")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("notices"), {"siti": "officer"})
    yield srv
    stop_server(srv)


def _submit(server) -> str:
    from gateway.config.loader import load_config
    from gateway.intake.pipeline import Submission
    from gateway.node import Node

    node = Node(load_config(overrides={"storage": {"path": str(server.db_path)}, "jobs": {"enabled": False}}))
    try:
        return node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": NIK, "name": "Siti", "address": "Krajan"},
                                               sender=PHONE)).tracking_code
    finally:
        node.close()


def test_kiosk_reject_button_queues_the_full_reason_and_shows_it_in_the_history(browser, server):
    code = _submit(server)
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="id-ID")
    page = context.new_page()
    try:
        page.goto(f"{server.url}/kiosk/login")
        page.fill("input[name=username]", "siti")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/kiosk/")
        page.goto(f"{server.url}/kiosk/requests/{code}")
        page.fill("#note", REASON * 3)  # the count follows the typing (asked from the server)
        page.wait_for_selector("#segments:has-text('dari paling banyak 3 segmen')")
        assert int(page.inner_text("#segments").split(":")[1].split()[0]) > 3
        page.click("button[name=status][value=rejected]")
        assert "terlalu panjang" in page.inner_text(".alert.error")  # 422: nothing sent, the text kept
        page.fill("#note", REASON)
        page.wait_for_selector("#segments:has-text(': 2 dari')")
        page.click("button[name=status][value=rejected]")
        page.wait_for_selector(".alert.ok")
        rows = server.db().execute('SELECT "to", body, segments, locale, kind FROM outbound').fetchall()
        assert rows == [(PHONE, f"Permohonan Surat Keterangan Domisili {code}: ditolak. Alasan: {REASON}", 2,
                         "id", "status")]
        history = page.inner_text("ol.notifications")
        assert "dalam antrean" in history and REASON in history and "2 segmen" in history
        # the hand-over closes without an SMS: the citizen is at the counter
        page.click("button[name=status][value=closed]")
        page.wait_for_selector(".alert.ok")
        assert server.db().execute("SELECT count(*) FROM outbound").fetchone()[0] == 1
    finally:
        context.close()
