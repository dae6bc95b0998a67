"""Faults on a real link: cuts at chosen byte offsets, processes killed mid-sync.

After every fault the next clean pass must leave each request submitted on
the node on the regional server exactly once (lost = 0, duplicated = 0).
"""

from __future__ import annotations

import random
import signal
import time

import pytest

from tests.faultproxy import FaultProxy
from tests.syncenv import NodeBox, assert_exactly_once


def _box(tmp_path, regional, proxy, n=0) -> NodeBox:
    box = NodeBox(tmp_path / "node", "desa-1", proxy.url, regional.add_node("desa-1"))
    if n:
        box.submit_many(n)
    return box


def _small_batches(box: NodeBox, size: int = 16) -> None:
    import sqlite3

    conn = sqlite3.connect(box.db)
    conn.execute("UPDATE sync_state SET value = ? WHERE name = 'batch_size'", (size,))
    conn.commit()
    conn.close()


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


@pytest.mark.parametrize("direction,offset", [
    ("down", 0), ("down", 40), ("down", 300),   # server committed, ack lost on the way back
    ("up", 10), ("up", 250), ("up", 2000),      # request cut while being sent
])
def test_cut_at_a_byte_offset_then_resume(tmp_path, regional, direction, offset):
    proxy = FaultProxy(regional.port)
    box = _box(tmp_path, regional, proxy, n=120)
    _small_batches(box)
    setattr(proxy, f"cut_{direction}_at", offset)
    first = box.sync()
    assert first.returncode == 1, first.stdout + first.stderr
    assert proxy.cuts == 1
    if direction == "down" and offset == 0:
        # The first batch reached the server and was committed; the node never saw the ack.
        assert regional.query("SELECT count(*) FROM requests")[0][0] == 16
        assert box.query("SELECT count(*) FROM requests WHERE synced = 1")[0][0] == 0
    second = box.sync()
    assert second.returncode == 0, second.stderr
    assert_exactly_once(regional, box)
    proxy.close()


def test_random_offsets_both_directions(tmp_path, regional):
    """A small version of the reliability campaign: random cuts while citizens keep submitting."""
    rng = random.Random(20261123)
    proxy = FaultProxy(regional.port)
    box = _box(tmp_path, regional, proxy, n=60)
    _small_batches(box, 24)
    for round_ in range(1, 7):
        box.submit_many(30, threads=4, seed=round_)
        proxy.reset()
        _small_batches(box, 24)
        if round_ % 2:
            proxy.cut_up_at = rng.randrange(0, 3000)
        else:
            proxy.cut_down_at = rng.randrange(0, 500)
        assert box.sync().returncode == 1
        proxy.cut_up_at = proxy.cut_down_at = None
    assert proxy.cuts == 6
    assert box.sync().returncode == 0
    assert_exactly_once(regional, box)
    assert len(box.request_ids()) == 60 + 6 * 30
    proxy.close()


def test_regional_killed_mid_batch(tmp_path, regional):
    proxy = FaultProxy(regional.port, rate=20_000)
    box = _box(tmp_path, regional, proxy, n=1500)
    _small_batches(box, 400)
    proc = box.sync_process()
    _wait_for(lambda: proxy.up > 8_000)
    regional.kill()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    # The failure shrank the batch (at most 2 x 400 before it, a quarter after).
    assert box.query("SELECT value FROM sync_state WHERE name = 'batch_size'")[0][0] <= 200
    regional.start()
    proxy.target = ("127.0.0.1", regional.port)
    proxy.rate = None
    final = box.sync()
    assert final.returncode == 0, final.stderr
    assert_exactly_once(regional, box)
    proxy.close()


@pytest.mark.parametrize("after_bytes", [3_000, 15_000])
def test_node_killed_mid_sync(tmp_path, regional, after_bytes):
    proxy = FaultProxy(regional.port, rate=20_000)
    box = _box(tmp_path, regional, proxy, n=1500)
    _small_batches(box, 300)
    proc = box.sync_process()
    _wait_for(lambda: proxy.up + proxy.down > after_bytes)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proxy.rate = None
    final = box.sync()
    assert final.returncode == 0, final.stderr
    assert_exactly_once(regional, box)
    proxy.close()


def test_interrupted_sync_exits_non_zero(tmp_path, regional):
    proxy = FaultProxy(regional.port, rate=10_000)
    box = _box(tmp_path, regional, proxy, n=600)
    proc = box.sync_process()
    _wait_for(lambda: proxy.up > 2_000)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    proxy.rate = None
    assert box.sync().returncode == 0
    assert_exactly_once(regional, box)
    proxy.close()


def test_server_down_then_back(tmp_path, regional):
    proxy = FaultProxy(regional.port)
    box = _box(tmp_path, regional, proxy, n=50)
    proxy.refuse = True
    assert box.sync().returncode == 1
    proxy.refuse = False
    assert box.sync().returncode == 0
    assert_exactly_once(regional, box)
    proxy.close()


@pytest.mark.slow
def test_ten_thousand_request_backlog(tmp_path, regional):
    proxy = FaultProxy(regional.port)
    box = _box(tmp_path, regional, proxy, n=10_000)
    out = box.sync()
    assert out.returncode == 0, out.stderr
    assert "10000" in out.stdout
    assert_exactly_once(regional, box)
    assert (proxy.up + proxy.down) / 10_000 <= 120
    proxy.close()


def test_captured_traffic_replayed_byte_for_byte_writes_nothing(tmp_path, regional):
    """An attacker on the link records a whole pass and plays it back to the server."""
    import socket

    proxy = FaultProxy(regional.port)
    proxy.record = True
    box = _box(tmp_path, regional, proxy, n=30)
    assert box.sync().returncode == 0
    before = regional.query("SELECT count(*), max(rid) FROM requests")
    counter = regional.query("SELECT last_counter FROM nodes")[0][0]
    assert proxy.captured and all(proxy.captured)
    answers = b""
    for raw in proxy.captured:
        with socket.create_connection(("127.0.0.1", regional.port), timeout=10) as s:
            s.sendall(bytes(raw))
            s.shutdown(socket.SHUT_WR)
            while chunk := s.recv(65536):
                answers += chunk
    statuses = [int(line.split()[1]) for line in answers.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
    assert statuses and set(statuses) == {409}, statuses
    assert regional.query("SELECT count(*), max(rid) FROM requests") == before
    assert regional.query("SELECT last_counter FROM nodes")[0][0] == counter
    assert_exactly_once(regional, box)
    proxy.close()


def test_sync_loop_runs_until_stopped(tmp_path, regional):
    import subprocess

    from tests.syncenv import SIMPUL, clean_env

    box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
    box.submit()
    proc = subprocess.Popen([SIMPUL, "--config", str(box.config), "sync"], env=clean_env(box.env),
                            cwd=box.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: box.query("SELECT count(*) FROM kv WHERE key = 'last_sync_at'")[0][0] == 1)
        time.sleep(1)  # let it print the pass's summary and go to sleep until the next one
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Terkirim 1 permohonan" in out.decode()
    assert_exactly_once(regional, box)


def test_two_sync_processes_at_once_store_each_request_once(tmp_path, regional):
    """The serve job and an officer's `simpul sync --once` may overlap: still exactly once."""
    proxy = FaultProxy(regional.port, rate=50_000)
    box = _box(tmp_path, regional, proxy, n=800)
    _small_batches(box, 50)
    procs = [box.sync_process() for _ in range(2)]
    for proc in procs:
        proc.communicate(timeout=120)
    proxy.rate = None
    assert box.sync().returncode == 0
    assert_exactly_once(regional, box)
    counters = regional.query("SELECT last_counter FROM nodes")[0][0]
    assert counters == box.query("SELECT value FROM sync_state WHERE name = 'request_counter'")[0][0]
    proxy.close()
