"""Sync benchmark: bytes per record, a 10,000-request drain, records/s at 40 kbit/s.

Real processes on loopback: a ``simpul regional serve`` process, a node
database filled through the real pipeline, and a byte-counting,
rate-limiting TCP proxy of our own (tests/faultproxy.py) in between. In the
same run the naive baseline, one HTTP POST per record (the SMSSync style:
form-encoded, one SQLite commit per record, JSON ``{"payload": {"success":
true}}`` answer), goes through the same proxy.

    .venv/bin/python bench/sync.py [--backlog 10000] [--slow-records 600] [--naive-slow-records 100]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from gateway.config.loader import load_config  # noqa: E402
from gateway.node import Node  # noqa: E402
from sync.client.runner import run_pass  # noqa: E402
from tests.faultproxy import FaultProxy  # noqa: E402
from tests.syncenv import NodeBox, Regional, free_port  # noqa: E402

LINK = 40_000 / 8  # 40 kbit/s in bytes per second, each direction


def copy_db(src: Path, dst: Path) -> None:
    """A consistent copy (WAL included) through SQLite's backup API."""
    source, target = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def drain(root: Path, label: str, n: int, rate: float | None, template: Path | None = None,
          pull_n: int = 0) -> tuple[dict, dict | None]:
    """Fill a node with ``n`` requests, then time one in-process sync pass through the proxy."""
    regional = Regional(root / f"{label}-regional").start()
    try:
        proxy = FaultProxy(regional.port, rate=rate)
        box = NodeBox(root / f"{label}-node", "desa-bench", proxy.url, regional.add_node("desa-bench"))
        if template is not None:
            copy_db(template, box.db)
        else:
            box.submit_many(n)
        config = load_config(box.config)
        node = Node(config)
        import os

        os.environ["SIMPUL_SYNC_SECRET"] = box.secret
        try:
            node.catalog  # noqa: B018 - open and migrate before the clock starts
            proxy.reset()
            started = time.perf_counter()
            result = run_pass(node)
            seconds = time.perf_counter() - started
        finally:
            node.close()
        assert result.ok, result.error
        stored = regional.query("SELECT count(*) FROM requests")[0][0]
        assert stored == n, (stored, n)
        push = {"records": n, "seconds": seconds, "up": proxy.up, "down": proxy.down,
                "bytes_per_record": (proxy.up + proxy.down) / n, "records_per_s": n / seconds}
        if not pull_n:
            proxy.close()
            return push, None
        pull = pull_back(regional, proxy, config, pull_n)
        proxy.close()
        return push, pull
    finally:
        regional.stop()


def pull_back(regional: Regional, proxy: FaultProxy, config, n: int) -> dict:
    """Case workers move ``n`` cases at the regional server; time the pass that brings them down."""
    from concurrent.futures import ThreadPoolExecutor

    from sync.regional.store import open_regional_store

    store = open_regional_store(regional.db)
    ids = [r[0] for r in regional.query("SELECT id FROM requests ORDER BY rid LIMIT ?", (n,))]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda rid: store.set_status(rid, "ready", actor="petugas"), ids))
    store.close()
    node = Node(config)
    try:
        proxy.reset()
        started = time.perf_counter()
        result = run_pass(node)
        seconds = time.perf_counter() - started
    finally:
        node.close()
    assert result.ok and result.moved["pulled"] == n and result.moved["notified"] == n, result
    return {"records": n, "seconds": seconds, "up": proxy.up, "down": proxy.down,
            "bytes_per_record": (proxy.up + proxy.down) / n, "records_per_s": n / seconds}


def audit_push(root: Path, n: int) -> dict:
    """Bytes per audit entry: ``n`` status-change-like entries (request UUID, event UUID), nothing
    else to sync; the pass's bytes minus those of a quiet pass (pull, catalog, head-only audit call)."""
    import uuid

    from gateway.privacy import audit

    regional = Regional(root / "audit-regional").start()
    try:
        proxy = FaultProxy(regional.port)
        box = NodeBox(root / "audit-node", "desa-bench", proxy.url, regional.add_node("desa-bench"))
        assert box.sync().returncode == 0
        proxy.reset()
        assert box.sync().returncode == 0
        quiet = proxy.up + proxy.down
        node = Node(load_config(box.config))
        statuses = ("in_progress", "ready", "closed")
        try:
            def job(db) -> None:
                for i in range(n):
                    audit.append(db, actor=f"petugas{i % 4}", action=audit.STATUS_CHANGE, subject=str(uuid.uuid4()),
                                 details={"event_id": str(uuid.uuid4()), "status": statuses[i % 3], "origin": "node"})

            node.store.write(job)
        finally:
            node.close()
        proxy.reset()
        started = time.perf_counter()
        assert box.sync().returncode == 0
        seconds = time.perf_counter() - started
        held = regional.query("SELECT count(*) FROM audit_entries")[0][0]
        assert held == n + 1, held
        proxy.close()
        return {"records": n, "seconds": seconds, "up": proxy.up, "down": proxy.down,
                "bytes_per_record": (proxy.up + proxy.down - quiet) / n, "records_per_s": n / seconds,
                "quiet": quiet}
    finally:
        regional.stop()


def naive_server(db_path: Path) -> tuple[int, threading.Thread]:
    """An SMSSync-style endpoint: one form POST per record, one fsync'd commit each."""
    import waitress
    from flask import Flask, jsonify, request

    from gateway.storage.store import connect

    db = connect(db_path)
    db.execute("CREATE TABLE IF NOT EXISTS messages (message_id TEXT PRIMARY KEY, sender TEXT, "
               "message TEXT, sent_timestamp TEXT, device_id TEXT)")
    lock = threading.Lock()
    app = Flask("naive")

    @app.post("/sms")
    def sms():
        f = request.form
        with lock:
            db.execute("INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?)",
                       [f["message_id"], f["from"], f["message"], f["sent_timestamp"], f["device_id"]])
        return jsonify(payload={"success": True, "error": None})

    port = free_port()
    thread = threading.Thread(target=waitress.serve, args=(app,),
                              kwargs={"host": "127.0.0.1", "port": port, "_quiet": True}, daemon=True)
    thread.start()
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=0.2)
            break
        except requests.RequestException:
            time.sleep(0.05)
    return port, thread


def naive(root: Path, template: Path, n: int, rate: float | None, port: int) -> dict:
    """POST the first ``n`` requests of a node one by one (requests' default headers, new connection each)."""
    conn = sqlite3.connect(template)
    rows = conn.execute("SELECT id, tracking_code, service, phone, fields, created_at FROM requests "
                        "ORDER BY seq LIMIT ?", [n]).fetchall()
    conn.close()
    proxy = FaultProxy(port, rate=rate)
    started = time.perf_counter()
    for rid, code, service, phone, fields, created in rows:
        resp = requests.post(proxy.url + "/sms", timeout=60, data={
            "from": phone, "message": f"{service}#{code}#{fields}", "message_id": rid,
            "sent_timestamp": created, "secret": "s3cret", "device_id": "desa-bench"})
        assert resp.ok and resp.json()["payload"]["success"]
    seconds = time.perf_counter() - started
    proxy.close()
    return {"records": n, "seconds": seconds, "up": proxy.up, "down": proxy.down,
            "bytes_per_record": (proxy.up + proxy.down) / n, "records_per_s": n / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--slow-records", type=int, default=600)
    parser.add_argument("--pull-records", type=int, default=2_000)
    parser.add_argument("--naive-records", type=int, default=2_000)
    parser.add_argument("--naive-slow-records", type=int, default=100)
    parser.add_argument("--audit-entries", type=int, default=2_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="simpul-bench-sync-"))
    try:
        print(f"# sync benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
              f"{platform.node()} ({platform.machine()}, Python {platform.python_version()})")
        filler = NodeBox(root / "template", "desa-bench", "http://127.0.0.1:9", "x")
        filler.submit_many(args.backlog)
        template = filler.db
        fast, fast_pull = drain(root, "fast", args.backlog, None, template, pull_n=args.pull_records)
        filler2 = NodeBox(root / "template-small", "desa-bench", "http://127.0.0.1:9", "x")
        filler2.submit_many(args.slow_records)
        small = filler2.db
        slow, slow_pull = drain(root, "slow", args.slow_records, LINK, small, pull_n=args.slow_records)
        audit = audit_push(root, args.audit_entries)
        port, _ = naive_server(root / "naive.db")
        naive_fast = naive(root, template, args.naive_records, None, port)
        naive_slow = naive(root, template, args.naive_slow_records, LINK, port)
        rows = [
            ("Simpul push, loopback", fast), ("Simpul push, 40 kbit/s", slow),
            ("Simpul pull (status + SMS), loopback", fast_pull), ("Simpul pull (status + SMS), 40 kbit/s", slow_pull),
            ("naive POST per record, loopback", naive_fast), ("naive POST per record, 40 kbit/s", naive_slow),
        ]
        print(f"{'case':<40} {'records':>8} {'seconds':>8} {'rec/s':>9} {'B/rec up':>9} {'B/rec down':>10} {'B/rec':>7}")
        for name, r in rows:
            print(f"{name:<40} {r['records']:>8} {r['seconds']:>8.2f} {r['records_per_s']:>9.1f} "
                  f"{r['up'] / r['records']:>9.1f} {r['down'] / r['records']:>10.1f} {r['bytes_per_record']:>7.1f}")
        print(f"audit entries pushed, loopback: {audit['records']} in {audit['seconds']:.2f} s (whole "
              f"`simpul sync --once` process), {audit['bytes_per_record']:.1f} B/entry beyond a quiet pass "
              f"({audit['quiet']} B: pull, catalog, head-only audit call)")
        print(f"targets: <= 120 B/record (got {fast['bytes_per_record']:.1f}), {args.backlog} drained <= 2 s "
              f"(got {fast['seconds']:.2f} s), >= 40 records/s at 40 kbit/s (got {slow['records_per_s']:.1f})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
