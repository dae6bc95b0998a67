"""A real ``simpul serve`` process and Debian's Chromium driven by Playwright (for tests/test_browser_*)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import SIMPUL

ROOT = Path(__file__).resolve().parent.parent
# Screenshots go to a temp dir, so a test run never changes the work tree; `make screenshots`
# points SIMPUL_SCREENSHOTS_DIR at docs/screenshots/ to refresh the ones the docs show. Read at
# import: the autouse fixture in conftest.py clears SIMPUL* variables before each test.
SCREENSHOTS = Path(os.environ.get("SIMPUL_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "simpul-screenshots")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "kata-sandi-rahasia"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    db_path: Path
    process: subprocess.Popen

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=30)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn


def start_server(tmp: Path, officers: dict[str, str], extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    db_path = tmp / "node.db"
    cfg = tmp / "config.toml"
    cfg.write_text(f'[storage]\npath = "{db_path}"\n[http]\nhost = "127.0.0.1"\nport = {port}\n'
                   '[jobs]\nenabled = false\n[node]\nname = "Kantor Desa Sukamaju"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    env["SIMPUL_SECRET_KEY"] = "browser-test-secret"
    env.update(extra_env or {})
    # The recovery code init-db shows once lets `officer add` grant the node key (as an operator would).
    init = subprocess.run([SIMPUL, "--config", str(cfg), "init-db"], text=True, env=env, check=True,
                          capture_output=True, timeout=60)
    env["SIMPUL_RECOVERY_CODE"] = re.search(r"[0-9A-Z]{5}(?:-[0-9A-Z]{1,5}){4,}", init.stderr).group(0)
    for name, role in officers.items():
        subprocess.run([SIMPUL, "--config", str(cfg), "officer", "add", name, "--role", role, "--password-stdin"],
                       input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True, timeout=60)
    log = open(tmp / "serve.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([SIMPUL, "--config", str(cfg), "serve", "--no-jobs"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return Server(url, db_path, process)
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"simpul serve did not start: {(tmp / 'serve.log').read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


def launch_chromium(playwright):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (make test installs it)")
    return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)


def shot(page, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
