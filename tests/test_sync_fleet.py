"""Fleet view (#13.6): every push carries the node's health; nodes --json and /nodes show it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gateway import clock
from sync.protocol import signing, wire
from sync.regional import fleet
from sync.regional.app import create_regional_app
from tests.syncenv import NodeBox, Regional

OLD_FIELDS = {"id", "last_seen_at", "requests", "audit_seq", "audit_head", "flagged", "flags"}
NEW_FIELDS = {"node_id", "name", "last_sync_at", "queue_depth", "oldest_unsynced_age_s", "version", "disk_free_mb",
              "clock_offset_s"}


def test_push_reports_health_and_nodes_json_lists_it(tmp_path, regional_engine):
    regional = Regional(tmp_path / "regional", database_url=regional_engine.url).start()
    try:
        added = regional.cli("regional", "add-node", "desa-1", "--name", "Desa Sukamaju")
        assert added.returncode == 0, added.stderr
        assert regional.cli("regional", "add-node", "desa-2").returncode == 0
        box = NodeBox(tmp_path / "node", "desa-1", regional.url, added.stdout.strip())
        box.submit()
        box.submit(name="Budi Santoso")
        listed = json.loads(regional.cli("regional", "nodes", "--json").stdout)
        assert listed[0]["last_sync_at"] is None and listed[0]["name"] == "Desa Sukamaju"
        out = box.sync()
        assert out.returncode == 0, out.stderr
        nodes = {n["id"]: n for n in json.loads(regional.cli("regional", "nodes", "--json").stdout)}
        one, two = nodes["desa-1"], nodes["desa-2"]
        assert OLD_FIELDS | NEW_FIELDS <= set(one)
        assert one["node_id"] == "desa-1" and one["name"] == "Desa Sukamaju" and one["requests"] == 2
        assert one["queue_depth"] == 0 and one["oldest_unsynced_age_s"] is None  # reported after the pushes
        assert isinstance(one["version"], str) and one["version"]
        assert one["disk_free_mb"] > 0 and abs(one["clock_offset_s"]) <= 5
        assert clock.age_seconds(one["last_sync_at"]) < 60
        assert two["name"] is None and two["last_sync_at"] is None and two["queue_depth"] is None
        rotated = regional.cli("regional", "add-node", "desa-1", "--rotate")
        assert rotated.returncode == 0
        again = {n["id"]: n for n in json.loads(regional.cli("regional", "nodes", "--json").stdout)}
        assert again["desa-1"]["name"] == "Desa Sukamaju"  # a rotation keeps the name
    finally:
        regional.stop()


@pytest.fixture
def regional_app(regional_engine):
    config = regional_engine.config()
    store = regional_engine.store()
    yield create_regional_app(config, store), store
    store.close()


def _post(client, secret, counter, message, path="/audit"):
    body = wire.pack(message)
    full = signing.PREFIX + path
    return client.post(full, data=body, headers={
        signing.H_NODE: "desa-1", signing.H_REQUEST: str(counter),
        signing.H_SIGNATURE: signing.sign(secret, "POST", full, "desa-1", counter, body)})


HEAD = [0, "0" * 64]


@pytest.mark.parametrize("health", [
    "fine", {"queue_depth": -1, "version": "1", "clock": "2026-01-01T00:00:00Z", "audit_head": HEAD},
    {"queue_depth": 1, "version": "", "clock": "2026-01-01T00:00:00Z", "audit_head": HEAD},
    {"queue_depth": 1, "version": "1", "clock": "yesterday", "audit_head": HEAD},
    {"queue_depth": 1, "version": "1", "clock": "2026-01-01T00:00:00", "audit_head": HEAD},
    {"queue_depth": True, "version": "1", "clock": "2026-01-01T00:00:00Z", "audit_head": HEAD},
    {"queue_depth": 1, "version": "1\x1b[2J", "clock": "2026-01-01T00:00:00Z", "audit_head": HEAD},
    {"queue_depth": 1, "version": "1", "clock": "2026-01-01T00:00:00Z", "audit_head": [0]},
])
def test_bad_health_is_refused_before_any_write(regional_app, health):
    app, store = regional_app
    secret = store.add_node("desa-1")
    resp = _post(app.test_client(), secret, 1, {**wire.encode_audit([], (0, "0" * 64)), "health": health})
    assert resp.status_code == 400 and "health" in wire.unpack(resp.data)["error"]
    assert store.nodes()[0]["last_sync_at"] is None and store.nodes()[0]["version"] is None


def test_a_push_without_health_still_counts_as_a_sync(regional_app):
    app, store = regional_app
    secret = store.add_node("desa-1")
    assert _post(app.test_client(), secret, 1, wire.encode_audit([], (0, "0" * 64))).status_code == 200
    row = store.nodes()[0]
    assert row["last_sync_at"] is not None and row["queue_depth"] is None


def test_clock_offset_is_node_minus_server(regional_app):
    app, store = regional_app
    secret = store.add_node("desa-1")
    ahead = clock.to_iso(clock.now() + dt.timedelta(hours=2))
    health = {"queue_depth": 7, "oldest_unsynced_age_s": 3600, "version": "0.1.0", "clock": ahead,
              "disk_free_mb": 512, "audit_head": HEAD}
    assert _post(app.test_client(), secret, 1, {**wire.encode_audit([], (0, "0" * 64)),
                                                "health": health}).status_code == 200
    row = store.nodes()[0]
    assert 7190 <= row["clock_offset_s"] <= 7200 and row["queue_depth"] == 7 and row["disk_free_mb"] == 512


def _row(node_id, last_sync_at=None, **kw):
    return {"id": node_id, "name": kw.pop("name", None), "last_sync_at": last_sync_at, "flagged": False,
            "queue_depth": kw.pop("queue_depth", None), "version": kw.pop("version", None), **kw}


def test_silent_nodes_come_first_then_the_chosen_sort_and_filters_apply():
    now = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    rows = [_row("a", "2026-12-01T11:00:00Z", queue_depth=5, version="0.1.0"),
            _row("b", "2026-11-29T11:00:00Z", queue_depth=1),
            _row("c", "2026-12-01T10:00:00Z", queue_depth=50, name="Desa Cibodas"),
            _row("d", None)]
    out = fleet.arrange(rows, now=now, silent_after_hours=24, sort="queue_depth", descending=True)
    assert [r["id"] for r in out] == ["b", "d", "c", "a"]
    assert [r["silent"] for r in out] == [True, True, False, False]
    assert [r["id"] for r in fleet.arrange(rows, now=now, silent_after_hours=72)] == ["d", "a", "b", "c"]
    fresh = [_row("e", None, created_at="2026-12-01T11:30:00Z"), _row("f", None, created_at="2026-11-01T00:00:00Z")]
    assert [r["silent"] for r in fleet.arrange(fresh, now=now, silent_after_hours=24)] == [True, False]
    assert [r["id"] for r in fleet.arrange(rows, now=now, silent_after_hours=24, show="silent")] == ["b", "d"]
    assert [r["id"] for r in fleet.arrange(rows, now=now, silent_after_hours=24, query="cibodas")] == ["c"]
    assert [r["id"] for r in fleet.arrange(rows, now=now, silent_after_hours=24, sort="'; DROP",
                                           show="nope")] == ["b", "d", "a", "c"]


@pytest.mark.browser
def test_nodes_page_in_chromium_lists_silent_nodes_first_in_red(tmp_path, browser, regional_engine):
    from tests.browser_support import shot

    regional = Regional(tmp_path / "regional", database_url=regional_engine.url).start()
    try:
        for node_id, name in (("desa-1", "Desa Sukamaju"), ("desa-2", "Desa Cibodas"), ("desa-3", "Desa Mekarsari")):
            assert regional.cli("regional", "add-node", node_id, "--name", name).returncode == 0
        secret = regional.cli("regional", "add-node", "desa-1", "--rotate").stdout.strip()
        box = NodeBox(tmp_path / "node", "desa-1", regional.url, secret)
        box.submit()
        assert box.sync().returncode == 0
        old = clock.to_iso(clock.now() - dt.timedelta(hours=30))
        # desa-2 last pushed 30 hours ago: silent
        regional.execute("UPDATE nodes SET last_sync_at = ?, queue_depth = 240, version = '0.1.0', "
                         "disk_free_mb = 900, clock_offset_s = -4 WHERE id = 'desa-2'", [old])
        regional.execute("UPDATE nodes SET created_at = ? WHERE id = 'desa-3'", [old])  # registered, never synced
        assert regional.cli("regional", "user", "add", "ani", "--password-stdin",
                            input="rahasia-kuat-1\n").returncode == 0
        context = browser.new_context(viewport={"width": 1280, "height": 700}, locale="id-ID")
        page = context.new_page()
        page.goto(regional.url + "/login")
        page.fill("input[name=username]", "ani")
        page.fill("input[name=password]", "rahasia-kuat-1")
        page.click("button[type=submit]")
        page.goto(regional.url + "/nodes")
        ids = page.locator("#fleet tbody tr td:first-child a").all_inner_texts()
        assert ids[:2] == ["desa-2", "desa-3"] and ids[2] == "desa-1"  # silent ones first
        color = page.locator("#fleet tbody tr").first.evaluate("e => getComputedStyle(e.cells[0]).color")
        assert color == "rgb(170, 0, 0)"
        assert "Desa Sukamaju" in page.inner_text("#fleet")
        shot(page, "regional-nodes")
        page.goto(regional.url + "/nodes?sort=queue_depth&desc=1")
        assert page.locator("#fleet tbody tr td:first-child a").all_inner_texts()[0] == "desa-2"
        page.goto(regional.url + "/nodes?show=silent")
        assert page.locator("#fleet tbody tr").count() == 2
        page.goto(regional.url + "/nodes?q=sukamaju")
        assert page.locator("#fleet tbody tr td:first-child a").all_inner_texts() == ["desa-1"]
        context.close()
    finally:
        regional.stop()


def test_a_sealed_secret_moved_onto_another_node_refuses_that_node_with_401(tmp_path, regional_engine):
    """A database edit that swaps sealed secrets between rows gets a plain refusal, never a 500."""
    regional = Regional(tmp_path / "regional", database_url=regional_engine.url).start()
    try:
        secret_a, secret_b = regional.add_node("desa-a"), regional.add_node("desa-b")
        assert regional.node_secret("desa-a") == secret_a
        sealed_a = regional.query("SELECT secret FROM nodes WHERE id = 'desa-a'")[0][0]
        regional.execute("UPDATE nodes SET secret = ? WHERE id = 'desa-b'", [sealed_a])
        a = NodeBox(tmp_path / "a", "desa-a", regional.url, secret_a)
        b = NodeBox(tmp_path / "b", "desa-b", regional.url, secret_b)
        a.submit()
        b.submit()
        assert a.sync().returncode == 0
        refused = b.sync()
        assert refused.returncode != 0 and "Traceback" not in refused.stderr
        assert "desa-b: its sealed secret is damaged or belongs to another node" in regional.log_text()
        for secret in (secret_a, secret_b):
            assert secret not in regional.log_text()
        assert [r["node_id"] for r in regional.requests()] == ["desa-a"]
    finally:
        regional.stop()
