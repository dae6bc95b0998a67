"""A case worker in Chromium on a real ``simpul regional serve``: login, case page, language, logout."""

from __future__ import annotations

import pytest

from tests.browser_support import shot
from tests.syncenv import Regional
from tests.test_sync_web import NIK, _seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "rahasia-kuat-1"


@pytest.fixture
def server(tmp_path, regional_engine):
    regional = Regional(tmp_path / "regional", database_url=regional_engine.url)
    added = regional.cli("regional", "user", "add", "ani", "--password-stdin", input=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    store = regional_engine.store(regional.root)
    request = _seed(store)
    store.close()
    regional.start()
    yield regional, request
    regional.stop()


def test_case_worker_logs_in_reads_a_case_and_logs_out(browser, server):
    regional, request = server
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="id-ID")
    page = context.new_page()
    page.goto(f"{regional.url}/requests/{request['id']}")
    assert "/login" in page.url  # the case page needs a session
    page.fill("#username", "ani")
    page.fill("#password", "salah-sekali")
    page.click("button[type=submit]")
    assert "Nama pengguna atau kata sandi salah" in page.inner_text(".alert.error")
    shot(page, "regional-login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    assert page.url.endswith(f"/requests/{request['id']}")  # next= brought her back to the case
    facts = page.inner_text("main")
    assert "Nama" in facts and "Alamat" in facts and NIK in facts and "Siti Aminah" in facts
    assert "Surat Keterangan Domisili" in facts and "15:00" in facts  # 08:00Z shown in Asia/Jakarta
    # The kiosk's stylesheet is applied (its top bar colour), not an unstyled page.
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "flex"
    shot(page, "regional-case")
    page.click("a[hreflang=en]")
    assert "Address" in page.inner_text("main") and "Domicile certificate" in page.inner_text("main")
    page.click("form.logout button")
    assert "/login" in page.url
    page.go_back()
    page.reload()
    assert "/login" in page.url  # the old cookie opens nothing after logout
    context.close()
