"""USSD safe by default: 403 without token or allowed source, the generic HTTP aggregator, session binding,
and the per-phone limit, through real HTTP on loopback."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import requests

from gateway.app import create_app
from gateway.cases import records as cases
from gateway.config.loader import load_config
from gateway.node import Node
from gateway.outbox import queue as outbound
from tests.conftest import NIK, SIMPUL, run_cli, write_config
from tests.provider_standins import NodeServer

PHONE = "+6281234567890"
OTHER = "+6285711112222"
AT = "/channels/ussd/africastalking"
HTTP = "/channels/ussd/http"


def make(tmp_path, **ussd):
    config = load_config(overrides={"storage": {"path": str(tmp_path / "u.db")}, "jobs": {"enabled": False},
                                    "ussd": ussd})
    node = Node(config)
    return node, NodeServer(create_app(config=config, node=node))


@pytest.fixture
def served(tmp_path):
    node, server = make(tmp_path, allowed_sources=["127.0.0.0/8"])
    yield node, server.url
    server.close()
    node.close()


def counts(node):
    db = node.store.read()
    return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("ussd_sessions", "ussd_drafts", "requests", "outbound"))


def at_form(session_id, text="", phone=PHONE):
    return {"sessionId": session_id, "serviceCode": "*123#", "phoneNumber": phone, "networkCode": "51010",
            "text": text}


def submit_at(url, session_id, phone=PHONE):
    """One whole DOMISILI submission the way Africa's Talking sends it; the last reply."""
    inputs, reply = [], None
    for entry in (None, "1", "1", NIK, "Siti Aminah", "Dusun Krajan RT 02/03", "1"):
        if entry is not None:
            inputs.append(entry)
        reply = requests.post(url + AT, data=at_form(session_id, "*".join(inputs), phone), timeout=10)
        assert reply.status_code == 200
    return reply.text


def test_every_ussd_route_is_403_without_token_or_allowed_source(tmp_path, monkeypatch):
    node, server = make(tmp_path)  # nothing configured: refused to everyone
    try:
        for path in (AT, HTTP):
            for query in ("", "?token=", "?token=guess"):
                r = requests.post(server.url + path + query, data=at_form("s1"), timeout=10)
                assert r.status_code == 403, (path, query)
        assert counts(node) == (0, 0, 0, 0)
    finally:
        server.close()
        node.close()


def test_source_outside_the_allowed_ranges_and_wrong_token_are_403(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMPUL_USSD_TOKEN", "t0k")
    node, server = make(tmp_path, allowed_sources=["10.0.0.0/8", "192.168.1.7"])
    try:
        assert requests.post(server.url + AT, data=at_form("s1"), timeout=10).status_code == 403
        assert requests.post(server.url + AT + "?token=t0", data=at_form("s1"), timeout=10).status_code == 403
        assert counts(node) == (0, 0, 0, 0)
        ok = requests.post(server.url + AT + "?token=t0k", data=at_form("s1"), timeout=10)
        assert ok.status_code == 200 and ok.text.startswith("CON ")
    finally:
        server.close()
        node.close()


def test_draft_is_not_offered_to_an_unauthenticated_caller(tmp_path, monkeypatch):
    """The review's draft theft: a stranger's POST with the victim's number gets nothing."""
    monkeypatch.setenv("SIMPUL_USSD_TOKEN", "t0k")
    node, server = make(tmp_path)
    try:
        for n in range(5):
            text = "*".join(["1", "1", NIK, "Siti Aminah"][:n])
            assert requests.post(server.url + AT + "?token=t0k", data=at_form("victim", text), timeout=10).ok
        thief = requests.post(server.url + AT, data=at_form("thief"), timeout=10)
        assert thief.status_code == 403 and NIK not in thief.text and "Siti" not in thief.text
        mine = requests.post(server.url + AT + "?token=t0k", data=at_form("again"), timeout=10)
        assert "Lanjutkan" in mine.text  # the owner, authenticated, still gets the form back
    finally:
        server.close()
        node.close()


def test_other_format_route_is_404(served):
    node, url = served
    assert requests.post(url + HTTP, data={"sessionId": "x", "msisdn": PHONE}, timeout=10).status_code == 404


def test_reused_session_id_from_another_phone_is_a_fresh_session_and_stored(served):
    """The review's case: an expired sessionId reused by another phone got the first caller's code."""
    node, url = served
    first = submit_at(url, "ATUid_reused")
    [mine] = cases.list_requests(node.store.read())
    assert mine["tracking_code"] in first
    # Later the aggregator hands the same id to another subscriber.
    second = submit_at(url, "ATUid_reused", phone=OTHER)
    rows = cases.list_requests(node.store.read())
    assert len(rows) == 2
    theirs = next(r for r in rows if r["phone"] == OTHER)
    assert theirs["tracking_code"] in second and mine["tracking_code"] not in second
    assert {r["to"] for r in outbound.list_outbound(node.store.read())} == {PHONE, OTHER}


def test_per_phone_limit_over_ussd_stores_nothing_and_queues_no_receipt(served):
    """The review's case: 25 sessions in a burst stored 25 requests and queued 25 receipts."""
    node, url = served
    replies = [submit_at(url, f"burst-{n}") for n in range(12)]
    assert len(cases.list_requests(node.store.read())) == 10
    assert len(outbound.list_outbound(node.store.read())) == 10
    for reply in replies[10:]:
        assert reply.startswith("END Terlalu banyak permohonan")
    # Another phone is not affected.
    submit_at(url, "other-1", phone=OTHER)
    assert len(cases.list_requests(node.store.read())) == 11


def test_generic_http_aggregator_path_input_text_reply(tmp_path):
    node, server = make(tmp_path, format="http", allowed_sources=["127.0.0.1"])
    try:
        inputs: list[str] = []

        def send(entry):
            if entry is not None:
                inputs.append(entry)
            r = requests.post(server.url + HTTP, timeout=10, data={
                "sessionId": "op-1", "msisdn": "081234567890", "input": "*".join(inputs), "serviceCode": "*123#"})
            assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
            return r.text

        assert send(None).startswith("CON Layanan Desa")
        for entry in ("1", "1", NIK, "Siti Aminah", "Dusun Krajan RT 02/03"):
            assert send(entry).startswith("CON ")
        receipt = send("1")
        [row] = cases.list_requests(node.store.read())
        assert receipt.startswith("END ") and row["tracking_code"] in receipt and row["phone"] == PHONE
        assert requests.post(server.url + AT, data=at_form("x"), timeout=10).status_code == 404
    finally:
        server.close()
        node.close()


def test_generic_http_aggregator_last_input_json_reply(tmp_path):
    config = load_config(overrides={
        "storage": {"path": str(tmp_path / "j.db")}, "jobs": {"enabled": False},
        "ussd": {"format": "http", "allowed_sources": ["127.0.0.1"],
                 "http": {"session_field": "sid", "phone_field": "from", "text_field": "msg",
                          "service_code_field": "code", "input_mode": "last", "reply": "json"}}})
    node = Node(config)
    server = NodeServer(create_app(config=config, node=node))
    try:
        def send(entry):
            r = requests.post(server.url + HTTP, timeout=10,
                              json={"sid": "op-2", "from": "6281234567890", "msg": entry, "code": "*123#"})
            assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
            return r.json()

        first = send("")
        assert first["end"] is False and first["text"].startswith("Layanan Desa")
        for entry in ("1", "1", NIK, "Siti Aminah", "Dusun Krajan RT 02/03"):
            assert send(entry)["end"] is False
        done = send("1")
        [row] = cases.list_requests(node.store.read())
        assert done["end"] is True and row["tracking_code"] in done["text"]
        bad = requests.post(server.url + HTTP, timeout=10, json=["not", "an", "object"])
        assert bad.status_code == 200 and bad.json()["end"] is True  # a polite END, never a 5xx
    finally:
        server.close()
        node.close()


def test_serve_warns_when_ussd_is_unguarded(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = write_config(tmp_path / "config.toml", f'[storage]\npath = "{tmp_path / "n.db"}"\n[http]\nport = {port}\n')
    assert run_cli("--config", str(cfg), "init-db", cwd=tmp_path).returncode == 0
    proc = subprocess.Popen([SIMPUL, "--config", str(cfg), "serve", "--no-jobs"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"SIMPUL_SECRET_KEY": "k", "PATH": "/usr/bin:/bin"})
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "SIMPUL_USSD_TOKEN" in err.decode() and "allowed_sources" in err.decode()


def test_no_warning_when_a_token_is_set(tmp_path, monkeypatch):
    from channels.ussd import routes

    config = load_config(overrides={"storage": {"path": str(tmp_path / "w.db")}})
    assert routes.unguarded(config)
    monkeypatch.setenv("SIMPUL_USSD_TOKEN", "x")
    assert not routes.unguarded(config)
