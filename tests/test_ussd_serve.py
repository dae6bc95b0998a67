"""A full USSD session against a real ``simpul serve`` process (waitress) on a free port."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import time
import uuid

import pytest
import requests

from tests.conftest import NIK, SIMPUL, run_cli, write_config

PHONE = "+6281234567890"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    cfg = write_config(tmp_path / "config.toml",
                       f'[storage]\npath = "{tmp_path / "node.db"}"\n[http]\nport = {port}\n'
                       '[ussd]\nallowed_sources = ["127.0.0.1"]\n')
    assert run_cli("--config", str(cfg), "init-db", cwd=tmp_path).returncode == 0
    proc = subprocess.Popen([SIMPUL, "--config", str(cfg), "serve", "--no-jobs"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={"SIMPUL_SECRET_KEY": "k", "PATH": "/usr/bin:/bin"})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                if proc.poll() is not None:
                    raise AssertionError(proc.stderr.read().decode()) from None
                time.sleep(0.1)
        yield base, tmp_path / "node.db"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_full_session_through_simpul_serve(server):
    base, db_path = server
    http = requests.Session()
    sid = f"ATUid_{uuid.uuid4().hex}"
    inputs: list[str] = []

    def send(entry: str | None) -> str:
        if entry is not None:
            inputs.append(entry)
        r = http.post(base + "/channels/ussd/africastalking", timeout=5, data={
            "sessionId": sid, "serviceCode": "*123#", "phoneNumber": PHONE, "networkCode": "51010",
            "text": "*".join(inputs)})
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
        assert r.text[:4] in ("CON ", "END ") and len(r.text) - 4 <= 160
        return r.text

    assert send(None).startswith("CON Layanan Desa")
    for entry in ("1", "1", NIK, "Siti Aminah", "Dusun Krajan RT 02/03"):
        assert send(entry).startswith("CON ")
    receipt = send("1")
    assert receipt.startswith("END ")
    # the aggregator resends the confirm: same answer
    r = http.post(base + "/channels/ussd/africastalking", timeout=5, data={
        "sessionId": sid, "serviceCode": "*123#", "phoneNumber": PHONE, "networkCode": "51010",
        "text": "*".join(inputs)})
    assert r.text == receipt
    with sqlite3.connect(db_path) as db:
        [(code, channel)] = db.execute("SELECT tracking_code, channel FROM requests").fetchall()
        [(to, body)] = db.execute('SELECT "to", body FROM outbound').fetchall()
    assert code in receipt and channel == "ussd"
    assert to == PHONE and code in body
    # junk and missing fields over real HTTP: still a polite END
    r = http.post(base + "/channels/ussd/africastalking", timeout=5, data={"text": "1*1"})
    assert r.status_code == 200 and r.text.startswith("END ")
