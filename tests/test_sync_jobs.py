"""The sync job in `simpul serve` (interval, backoff with jitter) and the kiosk's sync_now."""

from __future__ import annotations

import time

import pytest
import requests

from gateway.app import create_app
from gateway.config.loader import load_config
from gateway.node import Node
from sync.client.jobs import BACKOFF_CAP, SyncLoop, backoff_delay, sync_now
from tests.syncenv import NodeBox, Regional, stop


def test_backoff_grows_with_jitter_up_to_about_fifteen_minutes():
    low = [backoff_delay(n, rand=lambda a, b: a) for n in range(1, 12)]
    high = [backoff_delay(n, rand=lambda a, b: b) for n in range(1, 12)]
    assert high[0] == 30 and high[1] == 60 and high[2] == 120
    assert high[-1] == BACKOFF_CAP == 900
    assert all(lo < hi for lo, hi in zip(low[1:], high[1:], strict=True))
    import random

    rng = random.Random(1)
    samples = {round(backoff_delay(6, rand=rng.uniform)) for _ in range(50)}
    assert len(samples) > 20  # spread out, not a fixed schedule


def test_loop_backs_off_while_unreachable_and_resets_on_success(tmp_path, monkeypatch, regional_engine):
    server = Regional(tmp_path / "regional", database_url=regional_engine.url)
    box = NodeBox(tmp_path / "node", "desa-1", f"http://127.0.0.1:{server.port}", "x")
    config = load_config(box.config)
    config["sync.interval_seconds"] = 42
    node = Node(config)
    try:
        monkeypatch.setenv("SIMPUL_SYNC_SECRET", "wrong-for-now")
        loop = SyncLoop(node, rand=lambda a, b: b)
        assert not loop.run().ok and loop.failures == 1 and loop.next_delay == 30
        assert not loop.run().ok and loop.failures == 2 and loop.next_delay == 60
        server.start()
        monkeypatch.setenv("SIMPUL_SYNC_SECRET", server.add_node("desa-1"))
        result = loop.run()
        assert result.ok and loop.failures == 0 and loop.next_delay == 42
    finally:
        node.close()
        server.stop()


def test_sync_now_not_configured(app):
    result = sync_now(app)
    assert result == {"configured": False, "ok": False, "message": "Sinkronisasi belum diatur di simpul ini."}


def test_sync_now_runs_a_pass(tmp_path, monkeypatch, regional_engine):
    server = Regional(tmp_path / "regional", database_url=regional_engine.url).start()
    try:
        box = NodeBox(tmp_path / "node", "desa-1", server.url, server.add_node("desa-1"))
        box.submit()
        monkeypatch.setenv("SIMPUL_SYNC_SECRET", box.secret)
        app = create_app(config=load_config(box.config))
        result = sync_now(app)
        assert result["configured"] and result["ok"], result
        assert result["message"].startswith("Terkirim 1 permohonan")
        assert len(server.requests()) == 1
        monkeypatch.setenv("SIMPUL_SYNC_SECRET", "wrong")
        refused = sync_now(app)
        assert refused["configured"] and not refused["ok"] and "ditolak" in refused["message"]
    finally:
        server.stop()


@pytest.mark.slow
def test_serve_runs_the_sync_job_both_ways(tmp_path, regional_engine):
    server = Regional(tmp_path / "regional", database_url=regional_engine.url).start()
    proc = None
    try:
        box = NodeBox(tmp_path / "node", "desa-1", server.url, server.add_node("desa-1"))
        text = box.config.read_text().replace("enabled = false", "enabled = true").replace(f'url = "{server.url}"', f'url = "{server.url}"\ninterval_seconds = 1')
        box.config.write_text(text, encoding="utf-8")
        code = box.submit()
        proc, url = box.serve(jobs=True)
        deadline = time.monotonic() + 30
        while not server.requests() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert [r["tracking_code"] for r in server.requests()] == [code]
        assert server.cli("regional", "set-status", code, "in_progress").returncode == 0
        while time.monotonic() < deadline:
            health = requests.get(url + "/healthz", timeout=5).json()
            if box.query("SELECT status FROM requests") == [("in_progress",)]:
                break
            time.sleep(0.3)
        assert box.query("SELECT status FROM requests") == [("in_progress",)]
        assert health["queue_depth"] == 0 and health["last_sync_at"]
        assert len(box.query("SELECT * FROM outbound")) == 1
    finally:
        if proc is not None:
            stop(proc)
        server.stop()
