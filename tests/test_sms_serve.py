"""The Twilio webhook through a real `simpul serve` (waitress) process on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from gateway.config.loader import load_config
from gateway.node import Node
from tests.conftest import SIMPUL, write_config
from tests.sms_helpers import NIK, TOKEN, new_sid, reply_text, sign, twilio_form


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(tmp_path, port: int) -> tuple[subprocess.Popen, str, object]:
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
                return proc, base, cfg
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"simpul serve did not start: {proc.stdout.read().decode()}")


@pytest.fixture
def served(tmp_path):
    proc, base, cfg = start_serve(tmp_path, free_port())
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


def test_kill_mid_write_loses_no_acknowledged_request_and_redelivery_never_duplicates(tmp_path):
    """SIGKILL `simpul serve` under signed load; every code a citizen was sent survives, once."""
    port = free_port()
    proc, base, cfg = start_serve(tmp_path, port)
    url = f"http://127.0.0.1:{port}/channels/sms/twilio"
    forms = [[twilio_form(f"DOMISILI#{NIK}#Warga {t}-{i}#Dusun Krajan", sender=f"+62812555{t:02d}{i:03d}")
              for i in range(400)] for t in range(6)]
    acked: dict[str, str] = {}
    lock = threading.Lock()

    def client(batch):
        session = requests.Session()
        session.trust_env = False
        for form in batch:
            try:
                r = session.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form)}, timeout=10)
            except requests.RequestException:
                return  # the server died under us
            if r.status_code == 200:
                with lock:
                    acked[form["MessageSid"]] = reply_text(r).split("Kode: ")[1][:11]

    threads = [threading.Thread(target=client, args=(batch,)) for batch in forms]
    [t.start() for t in threads]
    deadline = time.monotonic() + 20
    while len(acked) < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    [t.join() for t in threads]
    assert 60 <= len(acked) < 2400, "the kill should land mid-load"
    node = Node(load_config(cfg))
    try:
        stored = dict(node.store.read().execute("SELECT channel_message_id, tracking_code FROM requests").fetchall())
    finally:
        node.close()
    assert all(stored.get(sid) == code for sid, code in acked.items())  # nothing acknowledged is lost
    # Twilio retries everything it did not get an answer for (and some it did): exactly once each.
    proc, base, cfg = start_serve(tmp_path, free_port())
    try:
        url = base + "/channels/sms/twilio"
        sent = [form for batch in forms for form in batch[:150]]
        session = requests.Session()
        session.trust_env = False
        for form in sent:
            r = session.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form)}, timeout=10)
            assert r.status_code == 200
            if form["MessageSid"] in acked:
                assert acked[form["MessageSid"]] in reply_text(r)
        node = Node(load_config(cfg))
        try:
            db = node.store.read()
            total, distinct = db.execute("SELECT count(*), count(DISTINCT channel_message_id) FROM requests").fetchone()
            wanted = {f["MessageSid"] for f in sent} | set(stored)
            assert total == distinct == len(wanted)
        finally:
            node.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
