"""The count of open inbox threads reaches the regional fleet view; the questions never do."""

from __future__ import annotations

import json
import re

import pytest

from channels.sms.inbound import Handler, InboundSms
from gateway.config.loader import load_config
from gateway.node import Node
from sync.client import health
from sync.protocol import signing, wire
from sync.regional.app import create_regional_app
from sync.regional.engines import open_store
from sync.regional.web import hash_password
from tests.sms_helpers import OTHER_PHONE, PHONE
from tests.syncenv import NodeBox, Regional

QUESTION = "kapan posyandu dusun krajan buka lagi bulan ini"
HEAD = [0, "0" * 64]


def _ask(config_path, *messages):
    node = Node(load_config(str(config_path)))
    try:
        handler = Handler(node)
        for n, (phone, text) in enumerate(messages):
            handler.handle(InboundSms("gammu", f"q{n}", phone, text), queue_reply=True)
        return health.report(node)["open_threads"]
    finally:
        node.close()


def test_open_threads_reach_nodes_json_and_no_question_is_sent(tmp_path, regional_engine):
    regional = Regional(tmp_path / "regional", database_url=regional_engine.url).start()
    try:
        added = regional.cli("regional", "add-node", "desa-1", "--name", "Desa Sukamaju")
        assert added.returncode == 0, added.stderr
        box = NodeBox(tmp_path / "node", "desa-1", regional.url, added.stdout.strip())
        box.submit()
        reported = _ask(box.config, (PHONE, "TANYA " + QUESTION), (PHONE, "TANYA satu lagi"),
                        (OTHER_PHONE, "halo pak kades, jalan rusak"))
        assert reported == 2  # two phones wait for an answer
        assert box.sync().returncode == 0
        [node] = json.loads(regional.cli("regional", "nodes", "--json").stdout)
        assert node["open_threads"] == 2
        held = regional.dump()  # SQLite: the database, its WAL and shm; PostgreSQL: pg_dump
        assert b"Desa Sukamaju" in held  # (the dump does hold what the server stored)
        assert QUESTION.encode() not in held and b"satu lagi" not in held
    finally:
        regional.stop()


@pytest.fixture
def regional_app(regional_engine):
    config = regional_engine.config()
    store = open_store(config)
    yield create_regional_app(config, store), store
    store.close()


def _push(client, secret, counter, health_value):
    body = wire.pack({**wire.encode_audit([], (0, "0" * 64)), "health": health_value})
    full = signing.PREFIX + "/audit"
    return client.post(full, data=body, headers={
        signing.H_NODE: "desa-1", signing.H_REQUEST: str(counter),
        signing.H_SIGNATURE: signing.sign(secret, "POST", full, "desa-1", counter, body)})


def _health(**extra):
    return {"queue_depth": 0, "version": "0.1.0", "clock": "2026-12-01T09:00:00Z", "audit_head": HEAD, **extra}


def test_nodes_page_shows_and_sorts_open_threads(regional_app):
    app, store = regional_app
    secret = store.add_node("desa-1")
    client = app.test_client()
    assert _push(client, secret, 1, _health(open_threads=4)).status_code == 200
    assert store.nodes()[0]["open_threads"] == 4
    store.add_user("ani", hash_password("rahasia-kuat-1"))
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "ani", "password": "rahasia-kuat-1", "csrf_token": token})
    html = client.get("/nodes?sort=open_threads&desc=1").get_data(as_text=True)
    assert re.search(r'class="open-threads">4<', html)
    # An older node sends none: the column stays empty, nothing breaks.
    assert _push(client, secret, 2, _health()).status_code == 200
    assert store.nodes()[0]["open_threads"] is None


@pytest.mark.parametrize("bad", [-1, True, "3", 2**60])
def test_junk_open_threads_is_refused_before_any_write(regional_app, bad):
    app, store = regional_app
    secret = store.add_node("desa-1")
    response = _push(app.test_client(), secret, 1, _health(open_threads=bad))
    assert response.status_code == 400 and "health" in wire.unpack(response.data)["error"]
    assert store.nodes()[0]["last_sync_at"] is None
