"""The generic HTTP aggregator: inbound webhook, outbound template, delivery callbacks, on loopback."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from channels.sms import sender
from gateway.app import create_app
from gateway.cases import records as cases
from gateway.config.loader import load_config
from gateway.node import Node
from gateway.outbox import queue as outbound
from tests.conftest import opened_fields
from tests.provider_standins import Aggregator, NodeServer
from tests.sms_helpers import NIK, PHONE

SECRET = "http-aggregator-secret"


@pytest.fixture
def aggregator():
    a = Aggregator()
    yield a
    a.close()


def make_node(tmp_path, http_settings):
    config = load_config(overrides={"storage": {"path": str(tmp_path / "h.db")}, "jobs": {"enabled": False},
                                    "sms": {"provider": "http", "http": http_settings}})
    return Node(config)


@pytest.fixture
def json_node(tmp_path, aggregator, monkeypatch):
    """Worked configuration 1 (docs/sms.md): a JSON aggregator with a bearer token and delivery callbacks."""
    monkeypatch.setenv("SIMPUL_SMS_HTTP_SECRET", SECRET)
    monkeypatch.setenv("AGG_TOKEN", "Bearer t0ken")
    node = make_node(tmp_path, {
        "inbound_format": "json", "from_field": "msisdn", "text_field": "message", "id_field": "messageId",
        "send_url": f"{aggregator.url}/v1/sms", "send_method": "POST",
        "send_body": '{"to": "{to}", "message": "{text}", "ref": "{id}"}', "send_auth_env": "AGG_TOKEN",
        "success_status": "200,202", "response_id_field": "message_id",
        "status_field": "status", "status_id_field": "message_id"})
    yield node
    node.close()


@pytest.fixture
def form_node(tmp_path, aggregator, monkeypatch):
    """Worked configuration 2 (docs/sms.md): a form/GET aggregator without delivery reports."""
    monkeypatch.setenv("SIMPUL_SMS_HTTP_SECRET", SECRET)
    node = make_node(tmp_path, {
        "send_url": f"{aggregator.url}/api/sendsms?user=desa&to={{to}}&message={{text}}", "send_method": "GET"})
    yield node
    node.close()


def serve(node):
    return NodeServer(create_app(config=node.config, node=node))


def stored(node):
    db = node.store.read()
    return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("requests", "sms_inbound", "outbound"))


def test_routes_refuse_without_their_secret_and_store_nothing(tmp_path, monkeypatch):
    node = make_node(tmp_path, {})
    server = serve(node)
    try:
        form = {"from": PHONE, "text": f"SKTM#{NIK}#Budi#sekolah", "id": "1"}
        for path in ("/channels/sms/http", "/channels/sms/http/status"):
            assert requests.post(server.url + path, data=form, timeout=10).status_code == 403  # secret unset
        monkeypatch.setenv("SIMPUL_SMS_HTTP_SECRET", SECRET)
        for path in ("/channels/sms/http", "/channels/sms/http?secret=", "/channels/sms/http?secret=nope",
                     "/channels/sms/http/status?secret=nope"):
            assert requests.post(server.url + path, data=form, timeout=10).status_code == 403
        assert stored(node) == (0, 0, 0)
    finally:
        server.close()
        node.close()


def test_form_inbound_is_stored_once_and_every_number_form_is_one_citizen(form_node, aggregator):
    server = serve(form_node)
    url = f"{server.url}/channels/sms/http?secret={SECRET}"
    try:
        text = f"SKTM#{NIK}#Budi Santoso#sekolah anak"
        assert requests.post(url, data={"from": "081234567890", "text": text, "id": "A1"}, timeout=10).json() == {
            "kind": "submit", "duplicate": False}
        assert requests.post(url, data={"from": "081234567890", "text": text, "id": "A1"}, timeout=10).json()[
            "duplicate"] is True
        [row] = cases.list_requests(form_node.store.read())
        assert row["phone"] == PHONE
        for n, form in enumerate(("6281234567890", "+6281234567890")):
            requests.post(url, data={"from": form, "text": f"STATUS {row['tracking_code']}", "id": f"S{n}"},
                          timeout=10)
        bodies = [r["body"] for r in outbound.list_outbound(form_node.store.read())]
        assert len(bodies) == 3 and all(row["tracking_code"] in b for b in bodies)
    finally:
        server.close()


def test_json_inbound_long_ucs2_text(json_node):
    server = serve(json_node)
    try:
        text = "ADUAN#" + "lampu jalan mati ꦭꦩ꧀ꦥꦸ 灯 " * 8  # long and not GSM-7: a multipart UCS-2 SMS, joined
        r = requests.post(f"{server.url}/channels/sms/http?secret={SECRET}", timeout=10,
                          json={"msisdn": "6281234567890", "message": text, "messageId": "m-1"})
        assert r.json()["kind"] == "submit"
        [row] = cases.list_requests(json_node.store.read())
        assert opened_fields(json_node, row)["message"] == " ".join(text[6:].split())
        bad = requests.post(f"{server.url}/channels/sms/http?secret={SECRET}", data=b"nope", timeout=10)
        assert bad.status_code == 400
        missing = requests.post(f"{server.url}/channels/sms/http?secret={SECRET}", json={"message": "HELP"}, timeout=10)
        assert missing.status_code == 400
    finally:
        server.close()


def test_json_outbound_template_auth_and_delivery_callbacks(json_node, aggregator):
    body = 'Kode "AB-1"\nbaris dua ꦱ'
    json_node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body=body, key="k1"))
    assert sender.send_due(json_node).sent == 1
    [req] = aggregator.requests
    assert req["method"] == "POST" and req["path"] == "/v1/sms"
    assert req["headers"]["Authorization"] == "Bearer t0ken"
    sent = json.loads(req["body"])
    [row] = outbound.list_outbound(json_node.store.read())
    assert sent == {"to": PHONE, "message": body, "ref": f"simpul-{row['id']}"}
    assert (row["status"], row["provider_id"], row["body"]) == ("sent", "AGG-1", body)  # reports come: kept
    server = serve(json_node)
    try:
        url = f"{server.url}/channels/sms/http/status?secret={SECRET}"
        assert requests.post(url, json={"message_id": "AGG-1", "status": "DELIVRD"}, timeout=10).status_code == 204
        [row] = outbound.list_outbound(json_node.store.read())
        assert (row["status"], row["body"]) == ("delivered", "")
        assert requests.post(url, json={"status": "DELIVRD"}, timeout=10).status_code == 400
    finally:
        server.close()


def test_form_get_outbound_blanks_at_hand_over_without_reports(form_node, aggregator):
    form_node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body="Siap & diambil 100%", key="k"))
    assert sender.send_due(form_node).sent == 1
    [req] = aggregator.requests
    query = parse_qs(urlsplit(req["path"]).query)
    assert req["method"] == "GET" and query == {"user": ["desa"], "to": [PHONE], "message": ["Siap & diambil 100%"]}
    [row] = outbound.list_outbound(form_node.store.read())
    assert (row["status"], row["body"]) == ("sent", "")  # nothing can ever report it undelivered


def test_answers_outside_success_status_fail_and_5xx_retries(json_node, aggregator):
    json_node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body="a", key="a"))
    aggregator.status = 503
    assert sender.send_due(json_node).retried == 1
    json_node.store.write(lambda db: db.execute("UPDATE outbound SET next_attempt_at = ''"))
    aggregator.status = 201  # not in "200,202"
    report = sender.send_due(json_node)
    [row] = outbound.list_outbound(json_node.store.read())
    assert report.failed == 1 and row["status"] == "failed" and row["error_code"] == "201" and row["body"] == "a"


def test_auth_env_must_exist(tmp_path, monkeypatch):
    from channels.sms import providers
    from channels.sms.errors import SmsError

    node = make_node(tmp_path, {"send_url": "http://127.0.0.1:9/x", "send_auth_env": "NOT_SET_ANYWHERE"})
    try:
        with pytest.raises(SmsError, match="NOT_SET_ANYWHERE"):
            providers.build(node.config)
    finally:
        node.close()
