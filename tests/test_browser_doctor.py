"""The kiosk's health page in real Chromium: the same checks as `simpul doctor`, admin only."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.browser_support import PASSWORD, shot, start_server, stop_server
from tests.conftest import SIMPUL

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("doctor"), {"siti": "admin", "budi": "officer"})
    yield srv
    stop_server(srv)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="id-ID")
    pg = context.new_page()
    yield pg
    context.close()


def _login(page, server, username):
    page.goto(f"{server.url}/kiosk/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def _cli_doctor(server) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    out = subprocess.run([SIMPUL, "--config", str(server.db_path.parent / "config.toml"), "doctor", "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    return json.loads(out.stdout)


def _page_checks(page) -> dict[str, str]:
    rows = page.locator("tr[data-check]")
    return {rows.nth(i).get_attribute("data-check"): rows.nth(i).get_attribute("class").removeprefix("doctor-")
            for i in range(rows.count())}


def test_the_admin_sees_what_simpul_doctor_says_and_a_broken_file_turns_it_red(page, server):
    _login(page, server, "siti")
    link = page.locator("a[href$='/kiosk/doctor']")
    assert link.inner_text() == "Pemeriksaan kesehatan"
    link.click()
    assert page.url.endswith("/kiosk/doctor")
    cli = _cli_doctor(server)
    shown = _page_checks(page)
    assert shown == {c["name"]: c["status"] for c in cli["checks"]}
    assert {"config", "database", "disk", "permissions", "clock", "keys", "lock", "outbox"} <= set(shown)
    assert shown["lock"] == "ok" and shown["database"] == "ok"  # the serving process holds the lock
    assert page.locator("#doctor-verdict").get_attribute("data-status") == cli["status"]
    shot(page, "kiosk-doctor")

    os.chmod(server.db_path, 0o644)  # a database readable by every user of the box
    try:
        page.reload()
        row = page.locator("tr[data-check=permissions]")
        assert row.get_attribute("class") == "doctor-fail"
        assert "chmod 600" in row.inner_text()
        assert page.locator("#doctor-verdict").get_attribute("data-status") == "fail"
        assert _cli_doctor(server)["status"] == "fail"
    finally:
        os.chmod(server.db_path, 0o600)


def test_an_officer_has_no_health_page(page, server):
    _login(page, server, "budi")
    page.wait_for_url(f"{server.url}/kiosk/")
    assert page.is_visible("nav") and page.locator("a[href$='/kiosk/doctor']").count() == 0
    response = page.goto(f"{server.url}/kiosk/doctor")
    assert response.status == 403
