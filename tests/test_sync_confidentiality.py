"""Sync confidentiality (#16.7): plain HTTP refused, signatures compared on bytes, one 401 for strangers."""

from __future__ import annotations

import hmac

import pytest

from gateway.config.loader import load_config
from sync.client.transport import Transport, check_config
from sync.errors import NotConfigured, Refused, ServerError
from sync.protocol import signing, wire
from sync.regional.app import create_regional_app
from tests.syncenv import NodeBox, free_port

KEY = "Gfoep0bQoclGZSlyRQXwthJx/2Z2J1amAz9CHEGxBW8="


def _config(url: str, **sync):
    return load_config(overrides={"sync": {"url": url, "regional_key": KEY, **sync}})


@pytest.mark.parametrize("url", ["http://regional.example.id", "http://10.0.0.5:8090", "ftp://127.0.0.1/"])
def test_plain_http_to_another_host_is_a_config_error_naming_the_key(url):
    with pytest.raises(NotConfigured, match=r"sync\.url") as exc:
        check_config(_config(url))
    assert "sync.allow_plain_http" in str(exc.value) or url.startswith("ftp")


@pytest.mark.parametrize("url", ["https://regional.example.id", "http://127.0.0.1:8090", "http://localhost:1",
                                 "http://[::1]:8090/", "http://127.8.9.10"])
def test_https_or_loopback_is_accepted(url):
    check_config(_config(url))


def test_allow_plain_http_lets_an_operator_choose_plain_http():
    check_config(_config("http://10.0.0.5:8090", allow_plain_http=True))


def test_sync_once_and_serve_refuse_plain_http(tmp_path):
    import subprocess

    from tests.syncenv import SIMPUL, clean_env

    box = NodeBox(tmp_path / "node", "desa-1", "http://regional.example.id", "s")
    out = box.sync()
    assert out.returncode == 2 and "sync.url" in out.stderr and "sync.allow_plain_http" in out.stderr
    box.config.write_text(box.config.read_text().replace("enabled = false", "enabled = true"))
    serve = subprocess.run([SIMPUL, "--config", str(box.config), "serve", "--port", str(free_port())],
                           env=clean_env(box.env), cwd=box.root, capture_output=True, text=True, timeout=60)
    assert serve.returncode == 2 and "sync.allow_plain_http" in serve.stderr


# --- signatures on bytes -------------------------------------------------------

def test_verify_treats_non_ascii_and_non_text_as_invalid():
    args = ("POST", "/sync/v1/requests", "desa-1", 7, b"body")
    good = signing.sign("secret", *args)
    assert signing.verify("secret", good, *args)
    for bad in ("é" * 64, good[:-1] + "é", "\u0660" * 64, good + "\x00", "", None, b"x", 12):
        assert not signing.verify("secret", bad, *args)
    body = b"answer"
    signed = signing.sign_response("secret", 7, 200, body)
    assert signing.verify_response("secret", signed, 7, 200, body)
    assert not signing.verify_response("secret", "é" * 64, 7, 200, body)
    assert not signing.verify_response("secret", None, 7, 200, body)
    assert not signing.verify_response("secret", signed, 8, 200, body)


@pytest.fixture
def regional(regional_engine):
    config = regional_engine.config()
    store = regional_engine.store()
    yield create_regional_app(config, store), store
    store.close()


def _post(client, node_id: str, secret: str, counter, body: bytes = b"", signature: str | None = None,
          path: str = signing.PREFIX + "/pull"):
    sig = signature if signature is not None else signing.sign(secret, "POST", path, node_id, counter, body)
    return client.post(path, data=body, headers={signing.H_NODE: node_id, signing.H_REQUEST: str(counter),
                                                 signing.H_SIGNATURE: sig})


def test_non_ascii_signature_or_node_header_is_401_not_500(regional):
    app, store = regional
    secret = store.add_node("desa-1")
    client = app.test_client()
    body = wire.pack({"cursor": 0})
    for sig in ("é" * 64, "\u00ff" * 64, "ä" + "0" * 63, "x" * 10_000):
        resp = _post(client, "desa-1", secret, 1, body, signature=sig)
        assert resp.status_code == 401, sig[:3]
    resp = _post(client, "dé", secret, 1, body)
    assert resp.status_code == 401
    resp = client.post(signing.PREFIX + "/pull", data=body,
                       headers={signing.H_NODE: "desa-1", signing.H_REQUEST: "١",
                                signing.H_SIGNATURE: "0" * 64})
    assert resp.status_code == 401
    assert store.node("desa-1")["last_counter"] == 0


def test_unknown_node_and_bad_signature_get_one_answer(regional):
    app, store = regional
    secret = store.add_node("desa-1")
    client = app.test_client()
    body = wire.pack({"cursor": 0})
    stranger = _post(client, "desa-x", "whatever", 1, body)
    wrong_key = _post(client, "desa-1", "not-the-secret", 1, body)
    no_id = _post(client, "desa-1", secret, "", body)
    assert stranger.status_code == wrong_key.status_code == no_id.status_code == 401
    assert stranger.data == wrong_key.data == no_id.data
    assert dict(stranger.headers) == dict(wrong_key.headers)
    assert _post(client, "desa-1", secret, 1, body).status_code == 200


def test_node_compares_the_answer_signature_in_constant_time_on_bytes(regional, monkeypatch):
    """The node must not trust an ack by ``!=`` on text: the check goes through hmac.compare_digest on bytes."""
    import threading

    from werkzeug.serving import make_server

    app, store = regional
    secret = store.add_node("desa-1")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    counter = iter(range(1, 100))
    try:
        transport = Transport(f"http://127.0.0.1:{server.server_port}", "desa-1", secret,
                              lambda at_least: max(next(counter), at_least))
        calls.clear()
        answer = transport.call("/pull", {"cursor": 0})
        assert answer["cursor"] == 0
        assert (bytes, bytes) in calls
        transport.secret = "not-the-secret"
        with pytest.raises(Refused) as refused:
            transport.call("/pull", {"cursor": 0})
        assert refused.value.status == 401
        transport.close()
    finally:
        server.shutdown()


def test_a_non_ascii_answer_signature_is_not_trusted_and_does_not_crash(monkeypatch):
    import threading

    from flask import Flask, Response

    tampered = Flask("tampered")

    @tampered.post(signing.PREFIX + "/pull")
    def answer():
        resp = Response(wire.pack({"cursor": 0, "cols": list(wire.PULL_COLS), "rows": []}))
        resp.headers[signing.H_SIGNATURE] = "é" * 64
        return resp

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, tampered, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        transport = Transport(f"http://127.0.0.1:{server.server_port}", "desa-1", "s", lambda at_least: 1)
        with pytest.raises(ServerError, match="not signed"):
            transport.call("/pull", {"cursor": 0})
        transport.close()
    finally:
        server.shutdown()
