"""USSD full-session latency at 50 concurrent sessions through a real `simpul serve`.

Starts `simpul serve --no-jobs` (waitress, `http.threads` workers) on a free
127.0.0.1 port with a fresh SQLite file, then runs, in the same run and with
the same client machinery (one keep-alive HTTP connection per simulated
phone, all phones at once):

  baseline A  GET /healthz (one small SQLite read, JSON)
  baseline B  POST /channels/ussd/africastalking with no fields (the USSD view
              answering END at once: Flask + form parsing, no database)
  ussd        complete sessions: dial, 1 submit, 1 domicile, NIK, name,
              address, 1 send -> END with tracking code (7 screens; the last
              one stores the request and queues its SMS with a durable commit)

Two load shapes, each run for the baselines and for USSD in the same process:

  paced      50 phones in session at once, each waiting a random think time
             (default 0.3-1.0 s, far quicker than a person types on a keypad)
             between screens: the shape of real USSD traffic. The p99 per
             screen here is the figure the target (< 50 ms) is about.
  saturated  the same phones with no think time (closed loop): capacity, and
             how latency grows from queueing when the 2 cores are saturated.

Usage: .venv/bin/python bench/ussd.py [--phones 50] [--sessions 3] [--threads 8]
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

SIMPUL = str(Path(sys.executable).with_name("simpul"))
NIK = "3201011708900001"
ROUTE = "/channels/ussd/africastalking"
SESSION = ["1", "1", NIK, "Siti Aminah", "Dusun Krajan RT 02/03", "1"]
SCREEN_NAMES = ["dial", "main->services", "service->NIK", "NIK->name", "name->address", "address->confirm",
                "send (stores)"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, threads: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cfg = tmp / "config.toml"
    cfg.write_text(f'[storage]\npath = "{tmp / "node.db"}"\n[http]\nport = {port}\nthreads = {threads}\n'
                   '[ussd]\nallowed_sources = ["127.0.0.1"]\n')
    env = {"SIMPUL_SECRET_KEY": "bench", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    subprocess.run([SIMPUL, "--config", str(cfg), "init-db"], check=True, env=env, capture_output=True)
    proc = subprocess.Popen([SIMPUL, "--config", str(cfg), "serve", "--no-jobs"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not start")


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)

    def pct(p: float) -> float:
        return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] * 1000

    return {"n": len(s), "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": s[-1] * 1000,
            "mean": statistics.fmean(s) * 1000}


def run_phones(port: int, phones: int, work) -> tuple[list[list[float]], float]:
    """Run ``work(conn, phone_index, record)`` on ``phones`` threads started together."""
    barrier = threading.Barrier(phones + 1)
    results: list[list[float]] = [[] for _ in range(phones)]
    errors: list[BaseException] = []

    def runner(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        barrier.wait()
        try:
            work(conn, i, results[i])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(phones)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results, time.perf_counter() - started


def timed(conn: http.client.HTTPConnection, method: str, path: str, body: str | None = None) -> tuple[float, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    t0 = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read().decode()
    elapsed = time.perf_counter() - t0
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}")
    return elapsed, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=50, help="concurrent sessions")
    parser.add_argument("--sessions", type=int, default=3, help="full sessions per phone")
    parser.add_argument("--think", type=float, nargs=2, default=(0.3, 1.0), metavar=("MIN", "MAX"),
                        help="think time between screens in the paced run, seconds")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (http.threads)")
    args = parser.parse_args()
    screens_per_phone = args.sessions * (len(SESSION) + 1)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(Path(tmp), args.threads)
        try:
            per_screen: dict[str, list[list[float]]] = {}

            def make(mode: str):
                think = (lambda: time.sleep(random.uniform(*args.think))) if mode == "paced" else (lambda: None)
                screens = per_screen.setdefault(mode, [[] for _ in SCREEN_NAMES])

                def healthz(conn, i, record):
                    for _ in range(screens_per_phone):
                        think()
                        record.append(timed(conn, "GET", "/healthz")[0])

                def empty_ussd(conn, i, record):
                    for _ in range(screens_per_phone):
                        think()
                        elapsed, data = timed(conn, "POST", ROUTE, "")
                        assert data.startswith("END ")
                        record.append(elapsed)

                def sessions(conn, i, record):
                    phone = f"+62812{i:08d}"
                    for n in range(args.sessions):
                        sid = f"bench-{mode}-{i}-{n}"
                        inputs: list[str] = []
                        for step in range(len(SESSION) + 1):
                            if step:
                                inputs.append(SESSION[step - 1])
                            think()
                            body = urllib.parse.urlencode({"sessionId": sid, "serviceCode": "*123#",
                                                           "phoneNumber": phone, "networkCode": "51010",
                                                           "text": "*".join(inputs)})
                            elapsed, data = timed(conn, "POST", ROUTE, body)
                            want = "END " if step == len(SESSION) else "CON "
                            if not data.startswith(want):
                                raise RuntimeError(f"unexpected screen at step {step}: {data[:80]!r}")
                            record.append(elapsed)
                            screens[step].append(elapsed)

                return (("baseline A: GET /healthz", healthz),
                        ("baseline B: USSD view, no fields (END, no DB)", empty_ussd),
                        ("USSD full sessions", sessions))

            # warm-up (imports, first connections, catalog) on a few phones
            run_phones(port, 5, make("warm-up")[0][1])
            runs = {}
            for mode in ("paced", "saturated"):
                for name, work in make(mode):
                    results, wall = run_phones(port, args.phones, work)
                    flat = [x for r in results for x in r]
                    runs[(mode, name)] = (percentiles(flat), len(flat) / wall, wall)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        with sqlite3.connect(Path(tmp) / "node.db") as db:
            stored = db.execute("SELECT count(*) FROM requests WHERE channel = 'ussd'").fetchone()[0]
            queued = db.execute("SELECT count(*) FROM outbound").fetchone()[0]
    print(f"# USSD benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"# {args.phones} concurrent phones x {args.sessions} sessions x {len(SESSION) + 1} screens per load; "
          f"waitress threads={args.threads}; client and server on the same machine")
    print(f"# 1-min load average before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
          "(other work on the machine inflates the tails)")
    think = f"think {args.think[0]:g}-{args.think[1]:g} s"
    print("| load | run | requests | req/s | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (mode, name), (p, rate, _wall) in runs.items():
        label = f"paced ({think})" if mode == "paced" else "saturated (no think)"
        print(f"| {label} | {name} | {p['n']} | {rate:,.0f} | {p['p50']:.1f} | {p['p95']:.1f} | "
              f"{p['p99']:.1f} | {p['max']:.1f} |")
    print()
    print("| USSD screen | paced p50 ms | paced p99 ms | saturated p50 ms | saturated p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for k, name in enumerate(SCREEN_NAMES):
        a, b = percentiles(per_screen["paced"][k]), percentiles(per_screen["saturated"][k])
        print(f"| {name} | {a['p50']:.1f} | {a['p99']:.1f} | {b['p50']:.1f} | {b['p99']:.1f} |")
    sessions_done = 2 * args.phones * args.sessions
    print()
    for mode in ("paced", "saturated"):
        wall = runs[(mode, "USSD full sessions")][2]
        print(f"{mode}: {args.phones * args.sessions} sessions in {wall:.1f} s "
              f"({args.phones * args.sessions / wall:.1f} sessions/s)")
    print(f"requests stored: {stored}; receipt SMS queued: {queued} (expected {sessions_done} each)")
    if stored != sessions_done or queued != sessions_done:
        raise SystemExit("mismatch: every session must store exactly one request and queue one SMS")


if __name__ == "__main__":
    main()
