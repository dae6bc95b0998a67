"""The poster in real Chromium: print-to-PDF on A4 gives exactly one sheet, in every language."""

from __future__ import annotations

import re

import pytest

from gateway.i18n import LOCALES
from tests.browser_support import shot
from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.browser


def pdf_pages(pdf: bytes) -> int:
    """Page objects in a PDF (Chromium writes them uncompressed): /Type /Page, not /Pages."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


@pytest.mark.parametrize("locale", LOCALES)
def test_poster_prints_on_one_a4_sheet(browser, tmp_path, locale):
    cfg = write_config(tmp_path / "config.toml", f'[storage]\npath = "{tmp_path / "node.db"}"\n'
                       '[node]\nname = "Kantor Desa Sukamaju"\npublic_url = "http://desa-sukamaju.local:8080"\n'
                       '[ussd]\nservice_code = "*123*45#"\n[sms]\npublic_number = "0812 3456 7890"\n')
    out = tmp_path / "poster.html"
    done = run_cli("--config", str(cfg), "poster", "--locale", locale, "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = browser.new_page()
    page.goto(out.as_uri())
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) == 1, f"the {locale} poster does not fit one A4 sheet"
    assert page.locator("svg.qr").count() == 1
    assert page.locator("tr.service").count() == 5
    if locale == "id":
        page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
        shot(page, "poster")
    page.close()
