"""Clock-jump campaign: move the wall clock of RUNNING node processes and check nothing breaks.

libfaketime (Debian ``faketime``) is preloaded into the node's processes with a shared control
file (``FAKETIME_TIMESTAMP_FILE`` + ``FAKETIME_NO_CACHE=1``); writing ``+1d``, ``-1d``, ``-2h``
into the file moves their ``time.time()`` / ``datetime.now()`` at once. ``DONT_FAKE_MONOTONIC=1``
is deliberate: a real clock step (NTP step, a dead RTC battery, an officer setting the date)
moves CLOCK_REALTIME only, never CLOCK_MONOTONIC, so that is what is tested. (libfaketime 0.9.10
also breaks Python 3.11's ``time.sleep`` under the preload - EINVAL - the product does not call it.)
The regional server keeps the true clock, as a real one would.

* ``sync``: rounds of ``simpul submit`` (1-3 requests) and ``simpul sync --once`` at a random
  offset, with the offset flipped at random *during* the pass; ``simpul regional set-status``
  moves a request now and then so pulls carry work. Checks: lost 0, duplicated 0, every sync
  exits 0 (no 401/409), regional status changes applied on the node exactly once, the regional
  server received requests in node ``seq`` order although ``created_at`` goes backwards.
* ``ussd``: one ``simpul serve --no-jobs`` under faketime; sessions that see a +1 day jump must
  END politely (200, ``END``); sessions that see a -2 h jump continue (their idle timer restarts
  at the first step after the jump) and still END once idle past
  ``ussd.session_timeout_seconds`` measured on the new clock. No 5xx.

    .venv/bin/python bench/soak_clock.py --rounds 60 --ussd 40 --seed 6005

Prints counts and the seed; exits 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.syncenv import SIMPUL, NodeBox, Regional, clean_env, free_port  # noqa: E402

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
OFFSETS = ("+0", "+1d", "-1d", "-2h", "-5h", "+3h", "-30m")
NIK = "3201011708900001"


class FakeClock:
    """The control file every faked process reads on each clock call."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.set("+0")

    def set(self, offset: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(offset + "\n", encoding="ascii")
        tmp.replace(self.path)  # atomic: a reader never sees an empty file

    def env(self) -> dict[str, str]:
        return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": str(self.path),
                "FAKETIME_NO_CACHE": "1", "DONT_FAKE_MONOTONIC": "1"}


def available() -> bool:
    return Path(LIBFAKETIME).exists()


def probe(clock: FakeClock) -> float:
    """Seconds between a faked child's clock at +1d and the true clock (should be ~86,400)."""
    clock.set("+1d")
    out = subprocess.run([sys.executable, "-c", "import time; print(time.time())"], env=clean_env(clock.env()),
                         capture_output=True, text=True, timeout=30, check=True)
    clock.set("+0")
    return float(out.stdout) - time.time()


def sync_campaign(root: Path, rounds: int, rng: random.Random) -> dict[str, int]:
    clock = FakeClock(root / "faketime.rc")
    regional = Regional(root / "regional").start()
    counts = {"rounds": 0, "submitted": 0, "passes": 0, "jumps_during_pass": 0, "status_set": 0,
              "sync_failures": 0, "lost": 0, "duplicated": 0, "out_of_order": 0, "created_at_backwards": 0,
              "regional_events_on_node": 0, "regional_events_duplicated": 0}
    try:
        box = NodeBox(root / "node", "desa-jam", regional.url, regional.add_node("desa-jam"))
        env = dict(box.env, **clock.env())
        for round_ in range(rounds):
            clock.set(rng.choice(OFFSETS))
            for i in range(rng.randint(1, 3)):
                out = box.cli("submit", "DOMISILI", f"nik={NIK}", f"name=Warga {round_} {i}",
                              f"address=Dusun Krajan {round_}", "--phone", "081234567890", env=clock.env())
                if out.returncode != 0:
                    raise RuntimeError(out.stderr)
                counts["submitted"] += 1
            if round_ % 3 == 2:
                code = rng.choice(box.query("SELECT tracking_code FROM requests WHERE synced = 1 "
                                            "AND status = 'received'") or [(None,)])[0]
                if code and regional.cli("regional", "set-status", code, "in_progress").returncode == 0:
                    counts["status_set"] += 1
            proc = subprocess.Popen([SIMPUL, "--config", str(box.config), "sync", "--once"], env=clean_env(env),
                                    cwd=box.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            stop = threading.Event()

            def flip(stop: threading.Event = stop) -> None:
                while not stop.wait(rng.uniform(0.05, 0.3)):
                    clock.set(rng.choice(OFFSETS))
                    counts["jumps_during_pass"] += 1

            flipper = threading.Thread(target=flip)
            flipper.start()
            _, err = proc.communicate(timeout=120)
            stop.set()
            flipper.join()
            counts["passes"] += 1
            if proc.returncode != 0:
                counts["sync_failures"] += 1
                print(f"round {round_}: sync exited {proc.returncode}: {err[-500:]}", file=sys.stderr)
            counts["rounds"] += 1
        clock.set("-1d")
        final = box.cli("sync", "--once", env=clock.env())
        counts["passes"] += 1
        counts["sync_failures"] += final.returncode != 0
        node_rows = box.query("SELECT id, seq, created_at FROM requests ORDER BY seq")
        reg_ids = [r[0] for r in regional.query("SELECT id FROM requests ORDER BY rowid")]
        counts["lost"] = len({r[0] for r in node_rows} - set(reg_ids))
        counts["duplicated"] = len(reg_ids) - len(set(reg_ids))
        seq_of = {r[0]: r[1] for r in node_rows}
        arrived = [seq_of[i] for i in reg_ids if i in seq_of]
        counts["out_of_order"] = sum(1 for a, b in zip(arrived, arrived[1:], strict=False) if b < a)
        created = [r[2] for r in node_rows]
        counts["created_at_backwards"] = sum(1 for a, b in zip(created, created[1:], strict=False) if b < a)
        events = box.query("SELECT id FROM status_events WHERE origin = 'regional'")
        counts["regional_events_on_node"] = len(events)
        counts["regional_events_duplicated"] = len(events) - len({e[0] for e in events})
        counts["unsynced"] = box.query("SELECT count(*) FROM requests WHERE synced = 0")[0][0]
    finally:
        regional.stop()
    return counts


def start_serve(root: Path, clock: FakeClock) -> tuple[subprocess.Popen, str]:
    cfg = root / "serve.toml"
    cfg.write_text(f'[storage]\npath = "{root / "serve.db"}"\n[jobs]\nenabled = false\n'
                   '[ussd]\nallowed_sources = ["127.0.0.1"]\n', encoding="utf-8")
    port = free_port()
    log = open(root / "serve.log", "ab")  # noqa: SIM115 - the server owns it for its life
    proc = subprocess.Popen([SIMPUL, "--config", str(cfg), "serve", "--port", str(port), "--no-jobs"],
                            cwd=root, env=clean_env(clock.env()), stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("simpul serve exited: " + (root / "serve.log").read_text(errors="replace")[-2000:])
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return proc, base
        except requests.RequestException:
            threading.Event().wait(0.05)
    proc.kill()
    raise RuntimeError("simpul serve did not answer /healthz")


def ussd_campaign(root: Path, sessions: int, rng: random.Random) -> dict[str, int]:
    root.mkdir(parents=True, exist_ok=True)
    clock = FakeClock(root / "faketime.rc")
    proc, base = start_serve(root, clock)
    http = requests.Session()
    http.trust_env = False
    # waitress closes keep-alive connections idle past channel_timeout measured on the WALL clock,
    # so after +1 d a reused connection can be reset under the client's feet (request not read,
    # the client retries). Aggregators open a connection per callback; so does this harness.
    http.headers["Connection"] = "close"
    counts = {"sessions": 0, "forward_jumps": 0, "forward_ended": 0, "backward_jumps": 0,
              "backward_continued": 0, "backward_then_idle_ended": 0, "server_errors": 0, "unexpected": 0}

    def post(sid: str, phone: str, text: str) -> requests.Response:
        r = http.post(base + "/channels/ussd/africastalking", timeout=10, data={
            "sessionId": sid, "serviceCode": "*123#", "phoneNumber": phone, "networkCode": "51010", "text": text})
        if r.status_code >= 500:
            counts["server_errors"] += 1
        return r

    def expect(r: requests.Response, prefix: str, outcome: str) -> None:
        """Count ``outcome`` when the screen starts with ``prefix`` (CON/END), else "unexpected"."""
        counts[outcome if r.status_code == 200 and r.text.startswith(prefix) else "unexpected"] += 1

    try:
        for n in range(sessions):
            clock.set("+0")
            sid, phone = f"ATUid_clock{n:05d}", f"+62813{rng.randint(0, 9_999_999):07d}"
            opened = [post(sid, phone, ""), post(sid, phone, "1")]
            if not all(r.status_code == 200 and r.text.startswith("CON ") for r in opened):
                counts["unexpected"] += 1
                continue
            counts["sessions"] += 1
            if n % 2 == 0:
                clock.set(rng.choice(("+1d", "+4m", "+2h")))  # all past the 180 s default
                counts["forward_jumps"] += 1
                expect(post(sid, phone, "1*1"), "END ", "forward_ended")
            else:
                back = rng.choice((7200, 86400, 1800))
                clock.set(f"-{back}")
                counts["backward_jumps"] += 1
                expect(post(sid, phone, "1*1"), "CON ", "backward_continued")
                clock.set(f"-{back - 240}")  # 4 minutes idle on the new clock
                expect(post(sid, phone, f"1*1*{NIK}"), "END ", "backward_then_idle_ended")
    finally:
        proc.terminate()
        proc.wait(10)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="sync rounds")
    parser.add_argument("--ussd", type=int, default=40, help="USSD sessions")
    parser.add_argument("--seed", type=int, default=6005)
    args = parser.parse_args(argv)
    if not available():
        print(f"libfaketime not found at {LIBFAKETIME} (apt-get install faketime)", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-clock-") as tmp:
        root = Path(tmp)
        skew = probe(FakeClock(root / "probe.rc"))
        sync = sync_campaign(root / "sync", args.rounds, rng)
        ussd = ussd_campaign(root / "ussd", args.ussd, rng)
    print(json.dumps({"seed": args.seed, "probe_plus_1d_seconds": round(skew), "sync": sync, "ussd": ussd,
                      "seconds": round(time.monotonic() - started)}, indent=1))
    bad = (abs(skew - 86400) > 60 or any(sync[k] for k in ("sync_failures", "lost", "duplicated", "out_of_order",
                                                              "regional_events_duplicated", "unsynced"))
           or sync["regional_events_on_node"] != sync["status_set"]
           or ussd["server_errors"] or ussd["unexpected"])
    print("FAIL" if bad else "OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
