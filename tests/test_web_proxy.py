"""Behind a trusted reverse proxy (issue #16.3): real client address and Secure cookies.

A real waitress server, started with ``gateway.web.proxy.waitress_options``
exactly as ``simpul serve`` does, answers requests that carry
``X-Forwarded-Proto: https`` and ``X-Forwarded-For``: believed from the
trusted address, ignored from any other.
"""

from __future__ import annotations

from contextlib import contextmanager

import requests

from gateway.app import create_app
from gateway.config.loader import load_config
from gateway.node import Node
from gateway.privacy import audit
from gateway.web.proxy import waitress_options
from tests.inthread_server import serve_in_thread
from tests.kiosk_support import add_officer, hidden

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


@contextmanager
def serving(tmp_path, **http):
    config = load_config(overrides={"storage": {"path": str(tmp_path / "simpul.db")}, "jobs": {"enabled": False},
                                    "http": http})
    node = Node(config)
    app = create_app(config=config, node=node)
    try:
        with serve_in_thread(app, threads=4, **waitress_options(config["http.trusted_proxy"])) as server:
            yield node, f"http://127.0.0.1:{server.effective_port}"
    finally:
        node.close()


def _set_cookies(resp: requests.Response) -> list[str]:
    return resp.raw.headers.getlist("Set-Cookie")


def _failed_login_client(node, base: str, headers: dict[str, str]) -> str:
    session = requests.Session()
    data = hidden(session.get(f"{base}/kiosk/login", headers=headers, timeout=30).text)
    for cookie in session.cookies:  # the proxy would carry a Secure cookie over HTTPS; here we hop it by hand
        cookie.secure = False
    data.update(username="siti", password="salah-salah")
    session.post(f"{base}/kiosk/login", data=data, headers=headers, timeout=30)
    row = node.store.read().execute("SELECT details FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1",
                                    [audit.LOGIN_FAILED]).fetchone()
    return row[0]


def test_forwarded_headers_from_the_trusted_proxy_give_secure_cookies_and_the_real_client(tmp_path):
    with serving(tmp_path, trusted_proxy="127.0.0.1") as (node, base):
        add_officer(node)
        resp = requests.get(f"{base}/kiosk/login", headers=FORWARDED, timeout=30)
        cookie = next(c for c in _set_cookies(resp) if c.startswith("simpul_csrf="))
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert "203.0.113.7" in _failed_login_client(node, base, FORWARDED)
        plain = requests.get(f"{base}/kiosk/login", timeout=30)  # the proxy spoke plain HTTP: no Secure
        assert "Secure" not in next(c for c in _set_cookies(plain) if c.startswith("simpul_csrf="))


def test_forwarded_headers_from_anyone_else_are_ignored(tmp_path):
    with serving(tmp_path, trusted_proxy="10.255.0.1") as (node, base):
        add_officer(node)
        resp = requests.get(f"{base}/kiosk/login", headers=FORWARDED, timeout=30)
        assert "Secure" not in next(c for c in _set_cookies(resp) if c.startswith("simpul_csrf="))
        details = _failed_login_client(node, base, FORWARDED)
        assert "203.0.113.7" not in details and "127.0.0.1" in details


def test_no_proxy_by_default_and_secure_cookies_can_be_forced(tmp_path):
    assert "trusted_proxy" not in waitress_options("")
    with serving(tmp_path / "a") as (node, base):
        resp = requests.get(f"{base}/kiosk/login", headers=FORWARDED, timeout=30)
        assert "Secure" not in next(c for c in _set_cookies(resp) if c.startswith("simpul_csrf="))
    with serving(tmp_path / "b", secure_cookies=True) as (node, base):
        resp = requests.get(f"{base}/kiosk/login", timeout=30)
        assert "Secure" in next(c for c in _set_cookies(resp) if c.startswith("simpul_csrf="))
