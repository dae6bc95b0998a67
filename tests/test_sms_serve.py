"""The Twilio webhook through a real `simpul serve` (waitress) process on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from gateway.config import load_config
from gateway.node import Node
from tests.conftest import SIMPUL, write_config
from tests.sms_helpers import NIK, TOKEN, new_sid, reply_text, sign, twilio_form


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    port = free_port()
    cfg = write_config(tmp_path / "serve.toml", f'[storage]\npath = "{tmp_path / "serve.db"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    env["SIMPUL_TWILIO_AUTH_TOKEN"] = TOKEN
    proc = subprocess.Popen([SIMPUL, "--config", str(cfg), "serve", "--port", str(port), "--no-jobs"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"simpul serve did not start: {proc.stdout.read().decode()}")
    yield base, cfg
    proc.terminate()
    proc.wait(timeout=10)


def test_signed_webhook_through_simpul_serve(served):
    base, cfg = served
    url = base + "/channels/sms/twilio"
    form = twilio_form(f"SKTM#{NIK}#Budi Santoso#biaya sekolah anak", sid=new_sid())
    session = requests.Session()
    session.trust_env = False

    def deliver(_):
        return session.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form)}, timeout=10)

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(deliver, range(6)))
    assert {r.status_code for r in responses} == {200}
    assert responses[0].headers["Content-Type"].startswith("text/xml")
    assert len({r.content for r in responses}) == 1
    text = reply_text(responses[0])
    assert text.startswith("Permohonan Surat Keterangan Tidak Mampu diterima")
    forged = session.post(url, data=dict(form, MessageSid=new_sid()),
                          headers={"X-Twilio-Signature": sign(url, form)}, timeout=10)
    assert forged.status_code == 403
    node = Node(load_config(cfg))
    try:
        (code,) = node.store.read().execute("SELECT tracking_code FROM requests").fetchone()
        assert node.store.read().execute("SELECT count(*) FROM requests").fetchone()[0] == 1
        assert code in text
    finally:
        node.close()
