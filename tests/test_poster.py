"""The A4 poster from the catalog: `simpul poster` and its content (real CLI, real catalog)."""

from __future__ import annotations

import html
import re

import pytest

from channels.sms import grammar
from channels.sms.poster import BLANK_NUMBER
from gateway.config.loader import load_config
from gateway.errors import ConfigError
from gateway.i18n import LOCALES
from gateway.intake.catalog import load_catalog
from gateway.intake.examples import sms_example
from tests.conftest import run_cli, write_config
from tests.kiosk_support import expected_modules, inline_svg, qr_modules

PUBLIC_URL = "http://desa-sukamaju.local:8080"


def _config_file(tmp_path, extra: str = "") -> str:
    return str(write_config(tmp_path / "config.toml", f'[storage]\npath = "{tmp_path / "node.db"}"\n'
                            f'[node]\npublic_url = "{PUBLIC_URL}"\n[ussd]\nservice_code = "*123*45#"\n'
                            f'[sms]\npublic_number = "0812 3456 7890"\n{extra}'))


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("locale", LOCALES)
def test_poster_lists_every_service_with_format_example_and_a_qr(tmp_path, locale):
    cfg = _config_file(tmp_path)
    done = run_cli("--config", cfg, "poster", "--locale", locale, "--out", str(tmp_path / "p.html"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "p.html").read_text(encoding="utf-8")
    text = _text(page)
    assert f'<html lang="{locale}">' in page
    for service in load_catalog().services:
        assert service.text("name", locale) in text
        assert service.sms_format(locale) in text
        assert sms_example(service, locale) in text
        assert service.text("requirements", locale) in text
        assert service.text("processing_time", locale) in text
    assert "*123*45#" in text and "0812 3456 7890" in text and PUBLIC_URL in text
    for word in grammar.STATUS_WORDS:
        assert f"{word} <" in text
    # The QR is inline SVG and encodes the portal address, module for module.
    assert qr_modules(inline_svg(page)) == expected_modules(PUBLIC_URL)
    # Self-contained: the stylesheet is inlined, nothing is fetched.
    assert "<style>" in page and "<link" not in page and "<script" not in page


def test_sms_and_ussd_lead_before_the_services_and_the_portal_follows(tmp_path):
    page = run_cli("--config", _config_file(tmp_path), "poster", "--locale", "en", cwd=tmp_path).stdout
    sms, ussd = page.index("0812 3456 7890"), page.index("*123*45#")
    table, portal = page.index('<table class="services"'), page.index(PUBLIC_URL)
    assert sms < ussd < table < portal


def test_default_locale_is_the_nodes_and_output_goes_to_stdout(tmp_path):
    done = run_cli("--config", _config_file(tmp_path), "poster", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("<!doctype html>") and '<html lang="id">' in done.stdout
    assert "Surat Keterangan Domisili" in done.stdout


def test_every_example_is_an_sms_the_node_accepts():
    catalog = load_catalog()
    for locale in LOCALES:
        for service in catalog.services:
            command = grammar.parse(sms_example(service, locale), catalog)
            assert isinstance(command, grammar.Submit), (locale, service.code)
            assert command.service is service
            _clean, problems = catalog.validate(service, command.values, locale)
            assert problems == [], (locale, service.code, problems)


def test_no_ussd_code_no_public_url_no_number(tmp_path):
    cfg = write_config(tmp_path / "c.toml", f'[storage]\npath = "{tmp_path / "n.db"}"\n')
    page = run_cli("--config", str(cfg), "poster", "--locale", "en", cwd=tmp_path).stdout
    assert "USSD" not in page
    assert "<svg" not in page  # no portal address, no QR
    assert BLANK_NUMBER in page  # a line to write the SMS number by hand


@pytest.mark.parametrize("code", ["123", "*123", "*12a#", "#123#", "*123**4#", "*123*45# "])
def test_a_ussd_code_people_cannot_dial_is_refused_naming_the_key(tmp_path, code):
    with pytest.raises(ConfigError, match="ussd.service_code"):
        load_config(overrides={"storage": {"path": str(tmp_path / "n.db")}, "ussd": {"service_code": code}})


def test_unwritable_out_file_exits_1(tmp_path):
    done = run_cli("--config", _config_file(tmp_path), "poster", "--out", str(tmp_path / "no" / "dir" / "p.html"),
                   cwd=tmp_path)
    assert done.returncode == 1
    assert "p.html" in done.stderr


def test_unknown_locale_is_refused(tmp_path):
    done = run_cli("--config", _config_file(tmp_path), "poster", "--locale", "fr", cwd=tmp_path)
    assert done.returncode == 2


def test_kiosk_poster_page_for_a_logged_in_officer(tmp_path):
    from gateway.app import create_app
    from gateway.node import Node
    from tests.kiosk_support import add_officer, login

    config = load_config(overrides={"storage": {"path": str(tmp_path / "n.db")}, "jobs": {"enabled": False},
                                    "node": {"public_url": PUBLIC_URL}, "ussd": {"service_code": "*500#"}})
    node = Node(config)
    try:
        client = create_app(config=config, node=node).test_client()
        assert client.get("/kiosk/poster").status_code == 303  # behind the login
        add_officer(node)
        login(client)
        page = client.get("/kiosk/poster?lang=jv")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert '<html lang="jv">' in body and "*500#" in body
        assert "/static/poster.css" in body and "<style>" not in body  # the CSP allows no inline style
        assert qr_modules(inline_svg(body)) == expected_modules(PUBLIC_URL)
        for service in node.catalog.services:
            assert service.sms_format("jv") in body
        assert "style-src 'self'" in page.headers["Content-Security-Policy"]
        assert client.get("/static/poster.css").status_code == 200
    finally:
        node.close()
