"""Pure pieces of the portal: CSRF and form tokens, track URLs, the QR SVG."""

from __future__ import annotations

import pytest
from flask import Flask

from gateway.web import csrf
from gateway.web.qr import qr_svg, track_base_url, track_url
from tests.kiosk_support import expected_modules, qr_modules


@pytest.fixture
def ctx():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "k1"
    with app.test_request_context():
        yield app


def test_csrf_token_is_bound_to_its_binding_and_the_secret(ctx):
    token = csrf.token("browser-a")
    assert csrf.valid("browser-a", token)
    assert not csrf.valid("browser-b", token)
    assert not csrf.valid(None, token) and not csrf.valid("browser-a", None) and not csrf.valid("browser-a", "")
    ctx.config["SECRET_KEY"] = "k2"
    assert not csrf.valid("browser-a", token)


def test_form_token_nonce_only_for_genuine_tokens(ctx):
    token = csrf.new_form_token("browser-a")
    nonce = csrf.form_nonce("browser-a", token)
    assert nonce and token.startswith(nonce + ".")
    assert csrf.new_form_token("browser-a") != token  # fresh every time
    assert csrf.form_nonce("browser-b", token) is None
    for bad in (None, "", "abc", "a.b.c", "." + token.split(".")[1], token + "x", "x" * 300):
        assert csrf.form_nonce("browser-a", bad) is None


def test_track_url_prefers_public_url_then_host_and_port():
    base = {"node.public_url": "", "http.host": "127.0.0.1", "http.port": 8080}
    assert track_url(base, "ABCDE-12345") == "http://127.0.0.1:8080/track/ABCDE-12345"
    assert track_base_url({**base, "node.public_url": "https://desa.example.id/simpul/"}) == \
        "https://desa.example.id/simpul"
    assert track_base_url({**base, "http.host": "0.0.0.0"}, "http://192.168.1.5:8080/") == "http://192.168.1.5:8080"
    assert track_base_url({**base, "http.host": "::1"}) == "http://[::1]:8080"


def test_qr_svg_is_inline_and_encodes_exactly_the_data():
    svg = qr_svg("http://127.0.0.1:8080/track/ABCDE-12345", 'QR "x" <y>')
    assert svg.startswith('<svg class="qr" role="img" aria-label="QR &quot;x&quot; &lt;y>')
    assert "<?xml" not in svg and "style=" not in svg and "http://www.w3.org/2000/svg" in svg
    assert qr_modules(svg) == expected_modules("http://127.0.0.1:8080/track/ABCDE-12345")
    assert qr_modules(svg) != expected_modules("http://127.0.0.1:8080/track/ABCDE-12346")
