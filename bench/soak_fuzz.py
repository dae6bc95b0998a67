"""Fuzz campaign: hypothesis against every citizen- and officer-facing parser; 0 server errors.

In-process (Flask test client, real SQLite file, real Twilio signatures), ``--examples`` per
parser (the suite's own fuzz tests run 150-400; this is the campaign count):

* ``sms``: a correctly signed Twilio webhook with any body and any sender -> 200 TwiML (or a 4xx
  for a webhook without a usable sender);
* ``ussd``: any sequence of inputs in one Africa's Talking session -> 200, ``CON``/``END``, a
  screen of at most 160 characters;
* ``portal``: the apply form of any service, valid CSRF cookie and token, any field values ->
  303 or a 4xx page;
* ``kiosk``: the same at the kiosk with a logged-in officer -> 303 or a 4xx page.

A 5xx, an exception or a broken reply is a failure: hypothesis shrinks it and the script prints
the smallest example. So is any ERROR logged by the app: a handler that catches an unexpected
exception and answers politely (the USSD endpoint does) still hides a bug - the first 10,000-example
run found one that way (``"³".isdigit()`` is True, ``int("³")`` raises). Sync payloads on the regional side are not covered here.

    .venv/bin/python bench/soak_fuzz.py --examples 10000 --seed 6004
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.kiosk_support import PASSWORD, add_officer, hidden  # noqa: E402
from tests.sms_helpers import TOKEN, URL, sign, twilio_form  # noqa: E402

USSD = "/channels/ussd/africastalking"
junk = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", " ", "0", "00", "98", "99", "*", "#", "3201011708900001", "081234567890",
                     "2999-01-01", "٣", "²", "³", "\x00", "é", "'; DROP TABLE requests;--", "<script>"]),
    st.from_regex(r"[0-9*#+ -]{0,30}", fullmatch=True),
)
sms_body = st.one_of(
    st.text(max_size=400),
    st.lists(junk, min_size=1, max_size=7).map("#".join),
    st.tuples(st.sampled_from(["DOMISILI", "SKTM", "KTP", "LAHIR", "ADUAN", "STATUS", "HELP", "BAHASA", "EN"]),
              st.lists(junk, max_size=5)).map(lambda t: "#".join([t[0], *t[1]])),
)
sender = st.one_of(st.sampled_from(["+6281234567890", "081234567890", "", "+1", "abc"]), st.text(max_size=20))


class Failure(Exception):
    pass


class ErrorCounter(logging.Handler):
    """Counts ERROR records (e.g. "ussd: unexpected error") and keeps the first few."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.first) < 3:
            self.first.append(self.format(record))


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Failure(what)


def make_app(workdir: Path):
    os.environ["SIMPUL_TWILIO_AUTH_TOKEN"] = TOKEN
    os.environ["SIMPUL_SECRET_KEY"] = "fuzz-secret-key"
    from gateway.app import create_app
    from gateway.config.loader import load_config
    from gateway.node import Node

    config = load_config(overrides={"storage": {"path": str(workdir / "fuzz.db")}, "jobs": {"enabled": False}})
    node = Node(config)
    return node, create_app(config=config, node=node)


def fuzz_sms(client):
    @given(body=sms_body, frm=sender)
    def run(body, frm):
        form = twilio_form(body, sender=frm, sid="SM" + uuid.uuid4().hex)
        r = client.post("/channels/sms/twilio", data=form, headers={"X-Twilio-Signature": sign(URL, form)})
        check(r.status_code < 500, f"status {r.status_code}")  # 400 for a webhook without a sender is fine
        if r.status_code == 200:
            check(r.data.startswith(b"<?xml") and b"<Response" in r.data, "not TwiML")
    return run


def fuzz_ussd(client):
    @given(first=st.sampled_from(["", "1", "2", "3"]), path=st.lists(junk, max_size=10))
    def run(first, path):
        sid = uuid.uuid4().hex
        inputs = [first] if first else []
        for entry in [None, *path]:
            if entry is not None:
                inputs.append(entry)
            r = client.post(USSD, data={"sessionId": sid, "serviceCode": "*123#", "phoneNumber": "+6281234567890",
                                        "networkCode": "51010", "text": "*".join(inputs)})
            text = r.get_data(as_text=True)
            check(r.status_code == 200, f"status {r.status_code}")
            check(text[:4] in ("CON ", "END ") and len(text) - 4 <= 160, f"bad screen {text!r}")
            if text.startswith("END "):
                break
    return run


def fuzz_forms(client, prefix: str, services: list[str], fields: dict[str, list[str]]):
    @given(service=st.sampled_from(services), data=st.data())
    def run(service, data):
        page = client.get(f"{prefix}/{service}" if prefix == "/kiosk/new" else f"/services/{service}/apply")
        check(page.status_code == 200, f"form page {page.status_code}")
        names = fields[service] + ["consent", "phone", "citizen_locale", "extra"]
        values = data.draw(st.dictionaries(st.sampled_from(names), junk, max_size=len(names)))
        url = f"{prefix}/{service}" if prefix == "/kiosk/new" else f"/services/{service}/apply"
        r = client.post(url, data={**hidden(page.get_data(as_text=True)), **values})
        check(r.status_code in (303, 400, 409, 422), f"status {r.status_code}")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per parser")
    parser.add_argument("--seed", type=int, default=6004)
    parser.add_argument("--only", nargs="*", default=["sms", "ussd", "portal", "kiosk"])
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="soak-fuzz-"))
    node, app = make_app(workdir)
    services = [s.code for s in node.catalog.services]
    fields = {s.code: [f.name for f in s.fields] for s in node.catalog.services}
    kiosk = app.test_client()
    add_officer(node)
    login_page = kiosk.get("/kiosk/login").get_data(as_text=True)
    kiosk.post("/kiosk/login", data={**hidden(login_page), "username": "siti", "password": PASSWORD})
    runs = {"sms": lambda: fuzz_sms(app.test_client()), "ussd": lambda: fuzz_ussd(app.test_client()),
            "portal": lambda: fuzz_forms(app.test_client(), "/services", services, fields),
            "kiosk": lambda: fuzz_forms(kiosk, "/kiosk/new", services, fields)}
    print(f"soak_fuzz: seed={args.seed} examples per parser={args.examples}", flush=True)
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    logging.getLogger().setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).propagate = True
    failed = []
    started = time.monotonic()
    for name in args.only:
        t0 = time.monotonic()
        logged_before = errors.count
        test = settings(max_examples=args.examples, deadline=None, database=None,
                        suppress_health_check=list(HealthCheck))(seed(args.seed)(runs[name]()))
        try:
            test()
            logged = errors.count - logged_before
            if logged:
                failed.append(name)
            print(f"{name}: {args.examples} examples, 0 server errors, {logged} errors logged "
                  f"({time.monotonic() - t0:.0f}s)", flush=True)
        except Exception:  # noqa: BLE001 - report and go on with the other parsers
            failed.append(name)
            print(f"{name}: FAILED\n{traceback.format_exc()[-3000:]}", flush=True)
    stored = node.store.read().execute("SELECT channel, count(*) FROM requests GROUP BY channel").fetchall()
    node.close()
    print(f"seed={args.seed} duration={time.monotonic() - started:.0f}s requests stored={dict(stored)}")
    for record in errors.first:
        print("logged: " + record[-1500:])
    print("RESULT: " + ("PASS" if not failed else "FAIL " + ",".join(failed)))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
