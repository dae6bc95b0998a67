"""The portal and the kiosk in each shipped language, in real headless Chromium (phone-sized).

Javanese and Sundanese texts run longer than Indonesian: each page must still fit a phone screen
without sideways scrolling. One screenshot of the portal per language goes to docs/screenshots.
"""

from __future__ import annotations

import pytest

from gateway.i18n import LANGUAGE_NAMES, LOCALES, gettext
from tests.browser_support import shot, start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("languages"), {"siti": "officer"})
    yield srv
    stop_server(srv)


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, locale="id-ID", java_script_enabled=False, is_mobile=True)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_portal_in_each_language_via_the_switch(phone, server, locale):
    phone.goto(server.url + "/")
    if locale != "id":
        phone.click(f"a[hreflang={locale}]")
    assert phone.get_attribute("html", "lang") == locale
    assert phone.inner_text("main h1") == gettext(locale, "Village services")
    for code in LOCALES:  # every language is offered, named in itself
        assert phone.get_attribute(f".langs [title='{LANGUAGE_NAMES[code]}']", "title") == LANGUAGE_NAMES[code]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, f"portal-lang-{locale}")
    phone.click("a[href='/services/KTP/apply']")  # the cookie carries the choice to the next page
    assert phone.get_attribute("html", "lang") == locale
    assert phone.is_visible(f"button:has-text('{gettext(locale, 'Send request')}')")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("locale", ["jv", "su"])
def test_kiosk_login_in_javanese_and_sundanese(phone, server, locale):
    phone.goto(server.url + f"/kiosk/login?lang={locale}")
    assert phone.get_attribute("html", "lang") == locale
    assert phone.is_visible(f"button:has-text('{gettext(locale, 'Log in')}')")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
