"""Drive realistic traffic through a real ``simpul serve`` and image its disk afterwards.

Shared by ``tests/test_stolen_disk.py`` (a small run) and ``bench/soak_stolen_disk.py`` (the
campaign). Everything a citizen or officer types that is personal data is remembered in
``Typed`` so the raw bytes of ``simpul.db``, ``simpul.db-wal`` and ``simpul.db-shm`` (and every
other file the node wrote) can be searched for it after a SIGKILL - the state a thief who pulls
the plug finds.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.kiosk_support import hidden
from tests.sms_helpers import sign, twilio_form

SIMPUL = str(Path(sys.executable).with_name("simpul"))
TOKEN = "stolen-disk-twilio-token-0123456789"
OFFICER, PASSWORD = "kades", "rahasia-kantor-desa-1"
CODE = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}\b")
USSD = "/channels/ussd/africastalking"

FIRST = ("Siti", "Budi", "Agus", "Dewi", "Rina", "Joko", "Sri", "Wayan", "Made", "Nyoman", "Putu", "Ayu",
         "Rizki", "Fajar", "Intan", "Yusuf", "Lestari", "Bambang", "Sulastri", "Hendra", "Ratna", "Eko")
MIDDLE = ("Nur", "Dwi", "Tri", "Adi", "Citra", "Kusuma", "Indah", "Putra", "Sari", "Hadi", "Wulan", "Bayu")
LAST = ("Aminah", "Santoso", "Wahyuni", "Pratama", "Hidayat", "Rahayu", "Saputra", "Kurniawan", "Susanto",
        "Nugroho", "Purnomo", "Handayani", "Setiawan", "Wibowo", "Sudarsana", "Maharani", "Suryadi")
DUSUN = ("Krajan", "Sumberrejo", "Karanganyar", "Tegalsari", "Wonosari", "Ngemplak", "Sidomulyo",
         "Banjarsari", "Kedungwringin", "Tanjungsari")
# Who collected a document (an officer's note names them): names of their own, searched as notes.
PICKER_FIRST = ("Gede", "Ketut", "Komang", "Endang", "Slamet", "Sumarni", "Tukiman", "Paijo", "Ngatini", "Warsito")
PICKER_LAST = ("Wiratama", "Suastini", "Prawiro", "Mulyani", "Riyadi", "Sukarsih", "Darmaji", "Partini")


@dataclass
class Typed:
    """Everything personal that was typed in, by kind (searched on disk afterwards)."""

    niks: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)  # complaints and feedback comments (free text)
    notes: set[str] = field(default_factory=set)  # officers' notes (sealed by the kiosk part)
    questions: set[str] = field(default_factory=set)  # SMS questions for the inbox (TANYA or unmatched)
    requests: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    drafts: int = 0
    draft_values: set[str] = field(default_factory=set)  # typed into a USSD form left unfinished

    def count(self, channel: str) -> None:
        self.requests += 1
        self.by_channel[channel] = self.by_channel.get(channel, 0) + 1


class People:
    """Random but valid Indonesian citizens (NIK, name, address), from a seed."""

    def __init__(self, rng: random.Random, typed: Typed):
        self.rng, self.typed = rng, typed
        self.phones = 0

    def nik(self) -> str:
        r = self.rng
        day = r.randint(1, 28) + (40 if r.random() < 0.5 else 0)
        value = f"32{r.randint(1, 79):02d}{r.randint(1, 20):02d}{day:02d}{r.randint(1, 12):02d}" \
                f"{r.choice([r.randint(50, 99), r.randint(0, 5)]):02d}{r.randint(1, 9999):04d}"
        self.typed.niks.add(value)
        return value

    def name(self) -> str:
        r = self.rng
        value = f"{r.choice(FIRST)} {r.choice(MIDDLE)} {r.choice(LAST)}"
        self.typed.names.add(value)
        return value

    def address(self) -> str:
        r = self.rng
        value = f"Dusun {r.choice(DUSUN)} RT {r.randint(1, 15):02d}/{r.randint(1, 9):02d} No {r.randint(1, 199)}"
        self.typed.addresses.add(value)
        return value

    def complaint(self) -> str:
        value = f"Lampu jalan depan rumah {self.name()} mati sejak {self.rng.randint(2, 9)} hari"
        self.typed.texts.add(value)
        return value

    def purpose(self) -> str:
        """An SKTM purpose: free text where health or family matters get written (personal by default)."""
        value = f"Berobat jantung anak {self.name()} di RSUD kelas {self.rng.randint(1, 3)}"
        self.typed.texts.add(value)
        return value

    def question(self) -> str:
        """A citizen's question by SMS: free text for the inbox, sealed like any other."""
        r = self.rng
        value = (f"kapan posyandu dusun {r.choice(DUSUN)} buka lagi, anak saya demam "
                 f"{r.randint(2, 9)} hari {r.choice(('sejak senin', 'belum turun', 'naik turun'))} {r.randrange(10**6)}")
        self.typed.questions.add(value)
        return value

    def phone(self, prefix: str = "+62812") -> str:
        self.phones += 1
        return prefix + str(self.rng.randrange(10**7)).zfill(7)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


class Node:
    """A provisioned data dir with one admin officer, and ``simpul serve`` on a free loopback port."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.db = workdir / "simpul.db"
        self.config = workdir / "simpul.toml"
        self.config.write_text(f'[storage]\npath = "{self.db}"\n[ussd]\nallowed_sources = ["127.0.0.1"]\n',
                               encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
        self.env.update(SIMPUL_TWILIO_AUTH_TOKEN=TOKEN, SIMPUL_SECRET_KEY="stolen-disk-secret-key")
        init = self.cli("init-db")
        self.recovery_code = init.stderr.strip().splitlines()[-1].strip()
        self.cli("officer", "add", OFFICER, "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
        self.proc: subprocess.Popen | None = None
        self.base = ""

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([SIMPUL, "--config", str(self.config), *args], cwd=self.workdir, env=self.env,
                              input=input, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"simpul {' '.join(args)}: {done.stderr[-2000:]}")
        return done

    def start(self, timeout: float = 30.0) -> str:
        port = free_port()
        with open(self.workdir / "serve.log", "ab") as log:
            self.proc = subprocess.Popen([SIMPUL, "--config", str(self.config), "serve", "--port", str(port)],
                                         cwd=self.workdir, env=self.env, stdout=log, stderr=log)
        self.base = f"http://127.0.0.1:{port}"
        http = http_session()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("simpul serve exited: " + (self.workdir / "serve.log").read_text()[-2000:])
            try:
                if http.get(self.base + "/healthz", timeout=1).ok:
                    return self.base
            except requests.RequestException:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("simpul serve did not answer /healthz")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, the WAL and -shm stay exactly as they are."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


class Citizens:
    """The three citizen channels and the kiosk, through the real endpoints."""

    def __init__(self, base: str, people: People, typed: Typed):
        self.base, self.people, self.typed = base, people, typed
        self.http = http_session()
        self.kiosk = http_session()

    # -- SMS (Twilio webhook, signed with the real RequestValidator) -------------------------

    def sms_body(self, service: str) -> str:
        p = self.people
        if service == "DOMISILI":
            return f"DOMISILI#{p.nik()}#{p.name()}#{p.address()}"
        if service == "SKTM":
            return f"SKTM#{p.nik()}#{p.name()}#{p.purpose()}"
        if service == "KTP":
            return f"KTP#{p.nik()}#{p.name()}#hilang"
        if service == "LAHIR":
            return f"LAHIR#{p.name()}#0{p.rng.randint(1, 9)}-0{p.rng.randint(1, 9)}-2025#{p.nik()}"
        return f"ADUAN#{p.complaint()}"

    def sms(self, service: str) -> str:
        form = twilio_form(self.sms_body(service), sender=self.people.phone(), sid="SM" + uuid.uuid4().hex)
        url = self.base + "/channels/sms/twilio"
        r = self.http.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form, TOKEN)}, timeout=30)
        message = ET.fromstring(r.content).find("Message") if r.status_code == 200 else None
        found = CODE.search(message.text or "") if message is not None else None
        if not found:
            raise AssertionError(f"SMS {service}: no tracking code ({r.status_code})")
        self.typed.count("sms")
        return found.group(0)

    def ask(self, prefix: str = "TANYA ") -> None:
        """A question for the inbox (``prefix`` "" sends it as a text that is no command)."""
        form = twilio_form(prefix + self.people.question(), sender=self.people.phone(), sid="SM" + uuid.uuid4().hex)
        url = self.base + "/channels/sms/twilio"
        r = self.http.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form, TOKEN)}, timeout=30)
        if r.status_code != 200:
            raise AssertionError(f"SMS question: {r.status_code}")

    # -- USSD (Africa's Talking callback) ------------------------------------------------------

    def ussd_inputs(self, service: str) -> list[str]:
        p = self.people
        if service == "DOMISILI":
            return ["1", "1", p.nik(), p.name(), p.address()]
        if service == "SKTM":
            return ["1", "2", p.nik(), p.name(), p.purpose()]
        return ["1", "5", p.complaint(), ""]  # ADUAN's category is optional: skipped

    def ussd(self, service: str, finish: bool = True) -> str | None:
        sid, phone, inputs = f"ATUid_{uuid.uuid4().hex}", self.people.phone("+62813"), []
        reply = ""
        typed = self.ussd_inputs(service)
        if not finish:
            self.typed.draft_values.update(typed)
        for entry in [None, *typed, *(["1"] if finish else [])]:
            if entry is not None:
                inputs.append(entry)
            r = self.http.post(self.base + USSD, timeout=30, data={
                "sessionId": sid, "serviceCode": "*123#", "phoneNumber": phone, "networkCode": "51010",
                "text": "*".join(inputs)})
            reply = r.text
            if r.status_code != 200 or not reply.startswith(("CON ", "END ")):
                raise AssertionError(f"USSD {service}: {r.status_code} {reply[:80]!r}")
        if not finish:  # the caller hung up on the confirm screen: a draft stays, sealed
            if not reply.startswith("CON "):
                raise AssertionError("USSD: an unfinished session must still be open")
            self.typed.drafts += 1
            return None
        found = CODE.search(reply) if reply.startswith("END ") else None
        if not found:
            raise AssertionError(f"USSD {service}: no tracking code in {reply[:80]!r}")
        self.typed.count("ussd")
        return found.group(0)

    # -- portal (office Wi-Fi) -------------------------------------------------------------------

    def portal(self, service: str) -> str:
        p = self.people
        values = {"DOMISILI": lambda: {"nik": p.nik(), "name": p.name(), "address": p.address()},
                  "SKTM": lambda: {"nik": p.nik(), "name": p.name(), "purpose": p.purpose()},
                  "ADUAN": lambda: {"message": p.complaint()}}[service]()
        url = f"{self.base}/services/{service}/apply"
        page = self.http.get(url, timeout=30)
        data = {**hidden(page.text), **values, "phone": p.phone("+62857").replace("+62", "0"), "consent": "yes"}
        r = self.http.post(url, data=data, timeout=30, allow_redirects=False)
        found = re.search(r"/track/([0-9A-Z-]+)", r.headers.get("Location", ""))
        if r.status_code != 303 or not found:
            raise AssertionError(f"portal {service}: {r.status_code}")
        self.typed.count("web")
        return found.group(1)

    def feedback(self, code: str, rating: int = 5) -> None:
        comment = f"Terima kasih Bu {self.people.name()}, cepat dan ramah"
        self.typed.texts.add(comment)
        page = self.http.get(f"{self.base}/track/{code}", timeout=30)
        r = self.http.post(f"{self.base}/track/{code}/feedback", timeout=30, allow_redirects=False,
                           data={"csrf_token": hidden(page.text)["csrf_token"], "rating": str(rating),
                                 "comment": comment})
        if r.status_code != 303:
            raise AssertionError(f"feedback: {r.status_code}")

    # -- kiosk (an officer at the village office) ------------------------------------------------

    def login(self) -> None:
        page = self.kiosk.get(self.base + "/kiosk/login", timeout=30)
        r = self.kiosk.post(self.base + "/kiosk/login", timeout=60, allow_redirects=False,
                            data={**hidden(page.text), "username": OFFICER, "password": PASSWORD})
        if r.status_code != 303:
            raise AssertionError(f"kiosk login: {r.status_code}")

    def kiosk_submit(self, service: str = "DOMISILI") -> str:
        p = self.people
        values = {"nik": p.nik(), "name": p.name(), "address": p.address()} if service == "DOMISILI" else \
            {"nik": p.nik(), "name": p.name(), "reason": "lost"}
        page = self.kiosk.get(f"{self.base}/kiosk/new/{service}", timeout=30)
        r = self.kiosk.post(f"{self.base}/kiosk/new/{service}", timeout=30, allow_redirects=False,
                            data={**hidden(page.text), **values, "phone": p.phone("+62878"), "consent": "yes"})
        found = re.search(r"/kiosk/(?:receipt|requests)/([0-9A-Z-]+)", r.headers.get("Location", ""))
        if r.status_code != 303 or not found:
            raise AssertionError(f"kiosk {service}: {r.status_code}")
        self.typed.count("kiosk")
        return found.group(1)

    def status(self, code: str, status: str, note: str = "") -> None:
        page = self.kiosk.get(f"{self.base}/kiosk/requests/{code}", timeout=30)
        r = self.kiosk.post(f"{self.base}/kiosk/requests/{code}/status", timeout=30, allow_redirects=False,
                            data={**hidden(page.text), "status": status, "note": note})
        if r.status_code != 303:
            raise AssertionError(f"kiosk status {status}: {r.status_code}")
        if note:
            self.typed.notes.add(note)

    def close_with_note(self, code: str) -> None:
        self.status(code, "in_progress")
        r = self.people.rng
        self.status(code, "ready", note=f"Berkas lengkap, diambil oleh {r.choice(PICKER_FIRST)} {r.choice(PICKER_LAST)}")
        self.status(code, "closed")


def drive(citizens: Citizens, rng: random.Random, rounds: int) -> None:
    """``rounds`` mixed rounds: every service by SMS, USSD flows (one left unfinished), portal, kiosk."""
    citizens.login()
    for i in range(rounds):
        for service in ("DOMISILI", "SKTM", "KTP", "LAHIR", "ADUAN"):
            citizens.sms(service)
        citizens.ussd(rng.choice(("DOMISILI", "SKTM", "ADUAN")))
        citizens.ussd("DOMISILI", finish=False)
        code = citizens.portal(rng.choice(("DOMISILI", "SKTM", "ADUAN")))
        citizens.kiosk_submit(rng.choice(("DOMISILI", "KTP")))
        citizens.ask()
        citizens.ask(prefix="")
        if i % 2 == 0:  # the portal request is handed over, then the citizen leaves feedback
            citizens.close_with_note(code)
            citizens.feedback(code, rating=rng.randint(1, 5))


@dataclass
class Scan:
    files: dict[str, int]  # file -> bytes
    hits: dict[str, list[tuple[str, str]]]  # kind -> [(value, file)]
    searched: dict[str, int]  # kind -> distinct values

    @property
    def bytes_scanned(self) -> int:
        return sum(self.files.values())


def image(workdir: Path, typed: Typed) -> Scan:
    """Search every file under ``workdir`` (database, WAL, shm, log, spool) for what was typed.

    NIKs as exact UTF-8 bytes; names, addresses and free text case-insensitively (ASCII lower).
    """
    files = {str(p.relative_to(workdir)): p.read_bytes() for p in sorted(workdir.rglob("*")) if p.is_file()}
    lowered = {name: data.lower() for name, data in files.items()}
    kinds = {"nik": typed.niks, "name": typed.names, "address": typed.addresses, "free text": typed.texts,
             "note": typed.notes, "question": typed.questions}
    hits: dict[str, list[tuple[str, str]]] = {k: [] for k in kinds}
    for kind, values in kinds.items():
        for value in sorted(values):
            needle = value.encode("utf-8")
            for name in files:
                if (needle in files[name]) if kind == "nik" else (needle.lower() in lowered[name]):
                    hits[kind].append((value, name))
    return Scan({n: len(d) for n, d in files.items()}, hits, {k: len(v) for k, v in kinds.items()})


def report(scan: Scan, typed: Typed) -> str:
    lines = [f"requests: {typed.requests} {dict(sorted(typed.by_channel.items()))}, unfinished USSD drafts: "
             f"{typed.drafts}",
             "files: " + ", ".join(f"{n}={b}" for n, b in scan.files.items()) + f" (total {scan.bytes_scanned} B)"]
    for kind, n in scan.searched.items():
        lines.append(f"{kind}: {n} distinct searched, hits = {len(scan.hits[kind])}"
                     + (f" e.g. {scan.hits[kind][0][1]}" if scan.hits[kind] else ""))
    return "\n".join(lines)
