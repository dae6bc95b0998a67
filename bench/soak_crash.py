"""Crash campaign: SIGKILL ``simpul serve`` under SMS + USSD + portal load, restart, repeat.

Each cycle starts a real ``simpul serve --no-jobs`` on one SQLite file (temp config, Twilio auth
token and secret key from the environment), first redelivers a sample of the previous cycle's SMS
with the same MessageSid (acknowledged ones must get the same code back, unanswered ones a code
now), then runs concurrent clients - Twilio-signed SMS webhooks, full USSD sessions to the confirm,
portal GET + POST with the CSRF token - and SIGKILLs the server at a random moment. After the kill
the database is opened cold and checked:

* every code a client received in a success reply (TwiML with a code, USSD ``END`` with a code,
  a portal 303 to ``/track/<code>``) is stored (lost = 0);
* no (channel, channel_message_id) is stored twice (duplicated = 0);
* ``PRAGMA quick_check`` every cycle, ``PRAGMA integrity_check`` every ``--full-check-every``
  cycles and at the end (= ok).

    .venv/bin/python bench/soak_crash.py --cycles 1000 --seed 6001

Prints counts and the seed; exits 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import random
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from soak_serve import (  # noqa: E402
    deliver_sms,
    portal_submit,
    session,
    sms_code,
    sms_form,
    start_serve,
    ussd_session,
    write_config,
)


class Ledger:
    """What clients were told: code -> (channel, key); SMS forms sent without an answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[str, tuple[str, str]] = {}
        self.sms_acked: dict[str, tuple[dict[str, str], str]] = {}  # sid -> (form, code), this cycle
        self.sms_unanswered: list[dict[str, str]] = []
        self.sent = {"sms": 0, "ussd": 0, "web": 0}
        self.non_success = 0

    def ack(self, channel: str, key: str, code: str) -> None:
        with self.lock:
            self.acked[code] = (channel, key)


def sms_client(base: str, ledger: Ledger, stop: threading.Event, tag: str) -> None:
    http = session()
    i = 0
    while not stop.is_set():
        form = sms_form(f"{tag}-{i}")
        i += 1
        with ledger.lock:
            ledger.sent["sms"] += 1
        try:
            response = deliver_sms(http, base, form)
        except requests.RequestException:
            with ledger.lock:
                ledger.sms_unanswered.append(form)
            return
        code = sms_code(response)
        if code is None:
            with ledger.lock:
                ledger.non_success += 1
                ledger.sms_unanswered.append(form)
            continue
        ledger.ack("sms", form["MessageSid"], code)
        with ledger.lock:
            ledger.sms_acked[form["MessageSid"]] = (form, code)


def _session_client(channel: str, attempt, base: str, ledger: Ledger, stop: threading.Event) -> None:
    """Loop ``attempt(http, base) -> (key, code | None)`` until stopped or the server dies."""
    http = session()
    while not stop.is_set():
        with ledger.lock:
            ledger.sent[channel] += 1
        try:
            key, code = attempt(http, base)
        except requests.RequestException:
            return
        if code is None:
            with ledger.lock:
                ledger.non_success += 1
            continue
        ledger.ack(channel, key, code)


def ussd_client(base: str, ledger: Ledger, stop: threading.Event) -> None:
    _session_client("ussd", ussd_session, base, ledger, stop)


def web_client(base: str, ledger: Ledger, stop: threading.Event) -> None:
    _session_client("web", lambda http, url: ("", portal_submit(http, url)), base, ledger, stop)


def redeliver(base: str, ledger: Ledger, rng: random.Random, stats: dict[str, int]) -> None:
    """Twilio retries what it got no answer for, and sometimes what it did: same MessageSid."""
    http = session()
    acked = list(ledger.sms_acked.values())
    sample = rng.sample(acked, min(3, len(acked)))
    for form, code in sample:
        got = sms_code(deliver_sms(http, base, form))
        stats["redelivered"] += 1
        if got != code:
            stats["redelivery_mismatch"] += 1
            print(f"redelivery of {form['MessageSid']} answered {got}, first answer was {code}", file=sys.stderr)
    for form in ledger.sms_unanswered:
        got = sms_code(deliver_sms(http, base, form))
        stats["redelivered"] += 1
        if got is None:
            stats["redelivery_mismatch"] += 1
            print(f"retry of unanswered {form['MessageSid']} got no code", file=sys.stderr)
        else:
            ledger.ack("sms", form["MessageSid"], got)
    ledger.sms_acked.clear()
    ledger.sms_unanswered.clear()


def check(db_path: Path, codes: list[str], full: bool) -> tuple[list[str], int, str]:
    """(lost among ``codes``, duplicated message ids, integrity result) on a cold open."""
    db = sqlite3.connect(db_path)
    try:
        stored: set[str] = set()
        for start in range(0, len(codes), 500):
            chunk = codes[start:start + 500]
            marks = ",".join("?" * len(chunk))
            stored.update(r[0] for r in db.execute(
                f"SELECT tracking_code FROM requests WHERE tracking_code IN ({marks})", chunk))
        lost = [c for c in codes if c not in stored]
        dup = db.execute("SELECT count(*) FROM (SELECT 1 FROM requests WHERE channel_message_id IS NOT NULL "
                         "GROUP BY channel, channel_message_id HAVING count(*) > 1)").fetchone()[0]
        integrity = db.execute("PRAGMA integrity_check" if full else "PRAGMA quick_check").fetchone()[0]
    finally:
        db.close()
    return lost, dup, integrity


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-kill-after", type=float, default=0.9,
                        help="kill at a uniform random moment in [0.02, this] seconds after start-up")
    parser.add_argument("--sms-clients", type=int, default=2)
    parser.add_argument("--full-check-every", type=int, default=25)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="soak-crash-"))
    db_path = workdir / "node.db"
    cfg = write_config(workdir, db_path)
    ledger = Ledger()
    stats = {"redelivered": 0, "redelivery_mismatch": 0, "integrity_failures": 0}
    dup = 0
    lost_codes: set[str] = set()
    started = time.monotonic()
    print(f"soak_crash: seed={seed} cycles={args.cycles} workdir={workdir}", flush=True)
    for cycle in range(1, args.cycles + 1):
        proc, base = start_serve(cfg, workdir)
        try:
            redeliver(base, ledger, rng, stats)
            before = set(ledger.acked)
            stop = threading.Event()
            threads = [threading.Thread(target=sms_client, args=(base, ledger, stop, f"{cycle}.{k}"))
                       for k in range(args.sms_clients)]
            threads += [threading.Thread(target=ussd_client, args=(base, ledger, stop)),
                        threading.Thread(target=web_client, args=(base, ledger, stop))]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.02, args.max_kill_after))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        full = cycle % args.full_check_every == 0 or cycle == args.cycles
        new_codes = [c for c in ledger.acked if c not in before]
        lost, dup, integrity = check(db_path, list(ledger.acked) if full else new_codes, full)
        for code in set(lost) - lost_codes:
            print(f"cycle {cycle}: LOST {code} {ledger.acked[code]}", file=sys.stderr)
        lost_codes.update(lost)
        if integrity != "ok":
            stats["integrity_failures"] += 1
            print(f"cycle {cycle}: integrity {integrity!r}", file=sys.stderr)
        if cycle % 50 == 0 or cycle == args.cycles:
            print(f"cycle {cycle}: acked={len(ledger.acked)} lost={len(lost_codes)} dup={dup} "
                  f"t={time.monotonic() - started:.0f}s", flush=True)
    # a last restart so the final unanswered SMS are retried too, then the full check
    proc, base = start_serve(cfg, workdir)
    try:
        redeliver(base, ledger, rng, stats)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    lost, dup, integrity = check(db_path, list(ledger.acked), True)
    lost_codes.update(lost)
    db = sqlite3.connect(db_path)
    stored = dict(db.execute("SELECT channel, count(*) FROM requests GROUP BY channel").fetchall())
    db.close()
    acked_by = {ch: sum(1 for c, _ in ledger.acked.values() if c == ch) for ch in ("sms", "ussd", "web")}
    elapsed = time.monotonic() - started
    ok = not lost_codes and dup == 0 and integrity == "ok" and not stats["integrity_failures"] \
        and not stats["redelivery_mismatch"]
    print(f"seed={seed} cycles={args.cycles} duration={elapsed:.0f}s")
    print(f"attempted: sms={ledger.sent['sms']} ussd_sessions={ledger.sent['ussd']} web={ledger.sent['web']}")
    print(f"acknowledged: total={len(ledger.acked)} sms={acked_by['sms']} ussd={acked_by['ussd']} "
          f"web={acked_by['web']}; non-success replies={ledger.non_success}")
    print(f"stored: {stored}; redelivered={stats['redelivered']} redelivery_mismatch={stats['redelivery_mismatch']}")
    print(f"lost={len(lost_codes)} duplicated={dup} integrity_check={integrity} "
          f"integrity_failures={stats['integrity_failures']}")
    print("RESULT: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
