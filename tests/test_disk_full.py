"""Disk full under a real ``simpul serve``: refuse loudly, never acknowledge-then-lose, recover.

The node's database lives on a tiny tmpfs mounted for the test (``mount -t tmpfs -o size=...``,
needs root; skipped with the reason otherwise). Once a filler file has eaten the free space:

* the Twilio webhook either stores the request and answers 200 with its code, or answers 5xx so
  Twilio retries - never a 200 whose code is then missing;
* the portal and the kiosk answer a localized 503 page, not a redirect to a code or a receipt;
* after the space comes back, the same MessageSid redelivered gets a code, exactly once.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests

from gateway.config.loader import load_config
from gateway.node import Node
from tests.conftest import SIMPUL, write_config
from tests.kiosk_support import PASSWORD, add_officer, hidden
from tests.sms_helpers import NIK, TOKEN, new_sid, reply_text, sign, twilio_form
from tests.syncenv import free_port

CODE = re.compile(r"[0-9A-Z]{5}-[0-9A-Z]{5}")


@pytest.fixture
def small_disk(tmp_path):
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; run the disk-full test as root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(mountpoint)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(path: Path) -> int:
    """Write zeros until the filesystem says ENOSPC; return the bytes written."""
    written = 0
    chunk = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            written += os.write(fd, chunk)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return written


class Served:
    def __init__(self, workdir: Path, db_path: Path, officer: bool = False):
        self.cfg = write_config(workdir / "node.toml", f'[storage]\npath = "{db_path}"\n')
        if officer:
            node = Node(load_config(self.cfg, environ={}))
            try:
                add_officer(node)
            finally:
                node.close()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
        env.update(SIMPUL_TWILIO_AUTH_TOKEN=TOKEN, SIMPUL_SECRET_KEY="disk-full-secret")
        self.log = workdir / "serve.log"  # a file, not a pipe: logged tracebacks must never block the server
        with open(self.log, "ab") as stderr:
            self.proc = subprocess.Popen([SIMPUL, "--config", str(self.cfg), "serve", "--port", str(port),
                                          "--no-jobs"], cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        self.base = f"http://127.0.0.1:{port}"
        self.http = requests.Session()
        self.http.trust_env = False
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.http.get(self.base + "/healthz", timeout=1).ok:
                    return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.proc.kill()
                    pytest.fail("simpul serve did not start: " + self.log.read_text(errors="replace"))
                time.sleep(0.05)

    def sms(self, form: dict[str, str]) -> requests.Response:
        url = self.base + "/channels/sms/twilio"
        return self.http.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form)}, timeout=20)

    def portal(self) -> requests.Response:
        url = self.base + "/services/DOMISILI/apply"
        page = self.http.get(url, timeout=20)
        assert page.status_code == 200
        data = {**hidden(page.text), "nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan", "consent": "yes"}
        return self.http.post(url, data=data, timeout=20, allow_redirects=False)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.log.read_text(errors="replace")


def login(served: Served) -> requests.Response:
    page = served.http.get(served.base + "/kiosk/login", timeout=20)
    data = {**hidden(page.text), "username": "siti", "password": PASSWORD}
    return served.http.post(served.base + "/kiosk/login", data=data, timeout=20, allow_redirects=False)


def sms_code(response: requests.Response) -> str | None:
    if response.status_code != 200:
        return None
    found = CODE.search(reply_text(response) or "")
    return found.group(0) if found else None


def test_disk_full_refuses_with_5xx_and_recovers(tmp_path, small_disk):
    db_path = small_disk / "node.db"
    served = Served(tmp_path, db_path, officer=True)
    acked: dict[str, str] = {}  # MessageSid -> code the citizen was sent
    refused: list[dict[str, str]] = []
    try:
        for i in range(3):
            form = twilio_form(f"DOMISILI#{NIK}#Warga {i}#Dusun Krajan", sid=new_sid())
            code = sms_code(served.sms(form))
            assert code, "the node must work while there is space"
            acked[form["MessageSid"]] = code
        assert served.portal().status_code == 303
        assert login(served).status_code == 303
        page = served.http.get(served.base + "/kiosk/new/DOMISILI", timeout=20)
        kiosk_form = {**hidden(page.text), "nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan",
                      "consent": "yes"}
        filler = small_disk / "filler.bin"
        fill(filler)
        statuses = []
        for i in range(400):  # the WAL may still have reusable room: keep writing until it refuses
            form = twilio_form(f"DOMISILI#{NIK}#Penuh {i}#{'Dusun Krajan RT 01 ' * 6}", sid=new_sid())
            response = served.sms(form)
            statuses.append(response.status_code)
            code = sms_code(response)
            if code:
                acked[form["MessageSid"]] = code
            else:
                refused.append(form)
                if len(refused) >= 3:
                    break
        assert len(refused) >= 3, f"the disk never filled up: {statuses[-5:]}"
        assert all(500 <= s < 600 for s in statuses if s != 200), statuses  # 5xx: Twilio retries
        full_portal = served.portal()
        assert full_portal.status_code >= 500 and "/track/" not in full_portal.headers.get("Location", "")
        assert "text/html" in full_portal.headers["Content-Type"]
        assert full_portal.status_code == 503 and "Tidak ada yang tercatat" in full_portal.text
        full_kiosk = served.http.post(served.base + "/kiosk/new/DOMISILI", data=kiosk_form,
                                      timeout=20, allow_redirects=False)
        assert full_kiosk.status_code == 503, full_kiosk.status_code
        assert "jangan berikan tanda terima" in full_kiosk.text
        assert served.http.get(served.base + "/healthz", timeout=5).ok  # still serving

        filler.unlink()  # space comes back; Twilio retries the refused deliveries
        for form in refused:
            code = sms_code(served.sms(form))
            assert code, "the retried delivery must succeed once space is back"
            acked[form["MessageSid"]] = code
        for form in refused[:2]:  # and a retry of a retry is still the same request
            assert sms_code(served.sms(form)) == acked[form["MessageSid"]]
        assert served.portal().status_code == 303
        retried = served.http.post(served.base + "/kiosk/new/DOMISILI", data=kiosk_form,
                                   timeout=20, allow_redirects=False)
        assert retried.status_code == 303 and "/kiosk/" in retried.headers["Location"]
    finally:
        served.stop()
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = dict(db.execute("SELECT channel_message_id, tracking_code FROM requests WHERE channel = 'sms'"))
        sms_total = db.execute("SELECT count(*) FROM requests WHERE channel = 'sms'").fetchone()[0]
        others = dict(db.execute("SELECT channel, count(*) FROM requests WHERE channel != 'sms' GROUP BY channel"))
    finally:
        db.close()
    assert {sid: stored.get(sid) for sid in acked} == acked  # lost = 0
    assert sms_total == len(acked)  # duplicated = 0, nothing half-written
    assert others == {"web": 2, "kiosk": 1}  # the refused form posts left nothing behind
