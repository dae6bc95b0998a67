"""Kiosk and portal page cost, against /healthz measured in the same run.

Runs a real ``simpul serve`` (waitress) on a free 127.0.0.1 port with a temp
database, then times sequential GETs with one keep-alive ``requests``
session: /healthz (baseline: routing + one small query), the portal's
service list, a track page, a kiosk receipt (QR encoded per request) and a
kiosk login (argon2id verify + session write with fsync). Prints one line
per page: median and p95 milliseconds and the ratio to the baseline.

    .venv/bin/python bench/web_pages.py [--n 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_support import PASSWORD, start_server, stop_server  # noqa: E402


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("SIMPUL_SECRET_KEY", "bench")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), {"siti": "officer"})
        try:
            http = requests.Session()
            page = http.get(f"{server.url}/kiosk/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            login = {"csrf_token": token, "username": "siti", "password": PASSWORD}
            assert http.post(f"{server.url}/kiosk/login", data=login, allow_redirects=False).status_code == 303
            form = http.get(f"{server.url}/kiosk/new/ADUAN").text
            fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
            sent = http.post(f"{server.url}/kiosk/new/ADUAN", allow_redirects=False,
                             data={**fields, "message": "lampu jalan mati", "consent": "yes"})
            code = sent.headers["Location"].rsplit("/", 1)[1]
            pages = {
                "/healthz (baseline)": lambda: http.get(f"{server.url}/healthz"),
                "portal /": lambda: http.get(f"{server.url}/"),
                "portal /track/<code>": lambda: http.get(f"{server.url}/track/{code}"),
                "kiosk /kiosk/receipt/<code> (QR)": lambda: http.get(f"{server.url}/kiosk/receipt/{code}"),
                "kiosk /kiosk/queue": lambda: http.get(f"{server.url}/kiosk/queue"),
            }
            fresh = requests.Session()
            fresh.get(f"{server.url}/kiosk/login")
            anon = fresh.cookies.get("simpul_csrf")
            login_page = fresh.get(f"{server.url}/kiosk/login").text
            token2 = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
            assert anon
            pages["kiosk POST /kiosk/login (argon2id)"] = lambda: fresh.post(
                f"{server.url}/kiosk/login", allow_redirects=False,
                data={"csrf_token": token2, "username": "siti", "password": PASSWORD})
            for fn in pages.values():  # warm up
                timed(fn, 5)
            results = {name: timed(fn, args.n if "login" not in name else max(20, args.n // 5))
                       for name, fn in pages.items()}
        finally:
            stop_server(server)
    base = statistics.median(results["/healthz (baseline)"])
    print(f"# web pages, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, n={args.n}")
    print(f"{'page':<40} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for name, values in results.items():
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"{name:<40} {statistics.median(values):>10.2f} {p95:>8.2f} {statistics.median(values) / base:>11.1f}")


if __name__ == "__main__":
    main()
