"""A real ``simpul serve`` process and the three citizen-facing clients the soak scripts drive.

Not a benchmark: shared harness for ``bench/soak_crash.py`` and the disk-full test. Each client
does what a real caller does (a Twilio-signed webhook, a full USSD session to the confirm, a
portal GET + POST with the CSRF cookie and token) and returns the tracking code only when the
*success* reply arrived - the only moment a citizen has been told "received".
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.kiosk_support import hidden  # noqa: E402
from tests.sms_helpers import sign, twilio_form  # noqa: E402

SIMPUL = str(Path(sys.executable).with_name("simpul"))
TOKEN = "soak-twilio-auth-token-" + "0" * 10
CODE = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}\b")
NIK = "3201011708900001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(workdir: Path, db_path: Path) -> Path:
    cfg = workdir / "soak.toml"
    cfg.write_text(f'[storage]\npath = "{db_path}"\n[ussd]\nallowed_sources = ["127.0.0.1"]\n',
                   encoding="utf-8")
    return cfg


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    # PYTHONFAULTHANDLER: SIGABRT on a hung server prints every thread's stack to its stderr
    env.update(SIMPUL_TWILIO_AUTH_TOKEN=TOKEN, SIMPUL_SECRET_KEY="soak-secret-key", PYTHONFAULTHANDLER="1")
    return env


def start_serve(cfg: Path, workdir: Path, timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start ``simpul serve --no-jobs`` on a free port; return once /healthz answers.

    The server's stderr goes to ``workdir/serve.log``, not a pipe: a pipe nobody drains fills up
    after a few logged tracebacks and then blocks the server's logging - a hang of the harness's
    making.
    """
    port = free_port()
    log = workdir / "serve.log"
    with open(log, "ab") as stderr:
        proc = subprocess.Popen([SIMPUL, "--config", str(cfg), "serve", "--port", str(port), "--no-jobs"],
                                cwd=workdir, env=server_env(), stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    http = session()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("simpul serve exited: " + log_tail(workdir))
        try:
            if http.get(base + "/healthz", timeout=1).ok:
                return proc, base
        except requests.RequestException:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("simpul serve did not answer /healthz")


def log_tail(workdir: Path, n: int = 4000) -> str:
    return (workdir / "serve.log").read_bytes()[-n:].decode(errors="replace")


def session() -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    return http


def sms_form(tag: str) -> dict[str, str]:
    phone = "+62812" + str(secrets.randbelow(10**7)).zfill(7)
    return twilio_form(f"DOMISILI#{NIK}#Warga {tag}#Dusun Krajan RT 01", sender=phone,
                       sid="SM" + secrets.token_hex(16))


def deliver_sms(http: requests.Session, base: str, form: dict[str, str], timeout: float = 10):
    """POST a signed Twilio webhook. Returns the response (the caller judges it)."""
    url = base + "/channels/sms/twilio"
    return http.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form, TOKEN)}, timeout=timeout)


def sms_code(response) -> str | None:
    """The tracking code in a 200 TwiML reply, else None."""
    if response.status_code != 200:
        return None
    message = ET.fromstring(response.content).find("Message")
    found = CODE.search(message.text or "") if message is not None else None
    return found.group(0) if found else None


def ussd_session(http: requests.Session, base: str, timeout: float = 10) -> tuple[str, str | None]:
    """A full DOMISILI session to the confirm. Returns (sessionId, code from the final END or None)."""
    sid = f"ATUid_{uuid.uuid4().hex}"
    phone = "+62813" + str(secrets.randbelow(10**7)).zfill(7)
    inputs: list[str] = []
    text = ""
    for entry in (None, "1", "1", NIK, "Siti Aminah", "Dusun Krajan RT 02/03", "1"):
        if entry is not None:
            inputs.append(entry)
        r = http.post(base + "/channels/ussd/africastalking", timeout=timeout, data={
            "sessionId": sid, "serviceCode": "*123#", "phoneNumber": phone, "networkCode": "51010",
            "text": "*".join(inputs)})
        if r.status_code != 200:
            return sid, None
        text = r.text
    found = CODE.search(text) if text.startswith("END ") else None
    return sid, found.group(0) if found else None


def portal_submit(http: requests.Session, base: str, timeout: float = 10) -> str | None:
    """GET the DOMISILI form (CSRF cookie + token), POST it; the code from a 303 to /track/<code>."""
    url = base + "/services/DOMISILI/apply"
    page = http.get(url, timeout=timeout)
    if page.status_code != 200:
        return None
    data = {**hidden(page.text), "nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan",
            "consent": "yes"}
    r = http.post(url, data=data, timeout=timeout, allow_redirects=False)
    location = r.headers.get("Location", "")
    found = re.match(r"^(?:https?://[^/]+)?/track/([0-9A-Z-]+)", location)
    return found.group(1) if r.status_code == 303 and found else None
