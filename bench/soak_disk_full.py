"""Disk-full campaign: fill the node's filesystem again and again under a live ``simpul serve``.

The database sits on a small tmpfs mounted by this script (needs root: ``mount -t tmpfs -o
size=...``). Each cycle fills the free space with a filler file, then drives every channel:

* signed Twilio SMS webhooks until three are refused: each answer is either a 200 TwiML with a
  code (really stored) or a 5xx (so Twilio retries);
* a full USSD session: an ``END`` with a code only if stored;
* a portal submission: a 303 to ``/track/<code>`` only if stored, else the 503 page;

then deletes the filler, redelivers the refused SMS with the same MessageSid (each must now get a
code) and checks the database cold: every acknowledged code present (lost = 0), one request per
MessageSid (duplicated = 0), ``PRAGMA integrity_check`` = ok. The server is never restarted: it has
to recover on its own when space returns.

    sudo .venv/bin/python bench/soak_disk_full.py --cycles 50 --seed 6003
"""

from __future__ import annotations

import argparse
import errno
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from soak_serve import (  # noqa: E402
    deliver_sms,
    log_tail,
    portal_submit,
    session,
    sms_code,
    sms_form,
    start_serve,
    ussd_session,
    write_config,
)


def fill(path: Path) -> int:
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            written += os.write(fd, b"\0" * 4096)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--size", default="128m", help="tmpfs size (the database itself must fit: ~60 requests a cycle)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)
    if os.geteuid() != 0:
        print("soak_disk_full: needs root to mount a small tmpfs", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="soak-disk-"))
    disk = workdir / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.size},mode=0700", "tmpfs", str(disk)], check=True)
    db_path = disk / "node.db"
    cfg = write_config(workdir, db_path)
    counts = {"sms_acked": 0, "sms_refused": 0, "sms_refused_status": {}, "ussd_end_code": 0, "ussd_refused": 0,
              "web_303": 0, "web_503": 0, "retried_ok": 0, "retry_failed": 0, "bad_status": 0}
    acked: dict[str, str] = {}  # code -> key
    started = time.monotonic()
    print(f"soak_disk_full: seed={seed} cycles={args.cycles} size={args.size}", flush=True)
    failures: list[str] = []
    try:
        return run(args, rng, seed, workdir, disk, cfg, db_path, counts, acked, started, failures)
    finally:
        subprocess.run(["umount", str(disk)], check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def run(args, rng, seed, workdir, disk, cfg, db_path, counts, acked, started, failures) -> int:
    proc, base = start_serve(cfg, workdir)
    http = session()
    cycle = 0
    try:
        for cycle in range(1, args.cycles + 1):
            # some ordinary traffic first, so each cycle fills at a different point of the WAL
            for _ in range(rng.randrange(1, 20)):
                form = sms_form(f"{cycle}")
                code = sms_code(deliver_sms(http, base, form))
                if code is None:
                    failures.append(f"cycle {cycle}: refused before the disk was filled")
                else:
                    acked[code] = form["MessageSid"]
            filler = disk / "filler.bin"
            fill(filler)
            refused = []
            for _ in range(500):
                form = sms_form(f"{cycle}-full")
                response = deliver_sms(http, base, form)
                code = sms_code(response)
                if code:
                    acked[code] = form["MessageSid"]
                    counts["sms_acked"] += 1
                    continue
                status = response.status_code
                counts["sms_refused_status"][status] = counts["sms_refused_status"].get(status, 0) + 1
                if not 500 <= status < 600:
                    counts["bad_status"] += 1
                refused.append(form)
                if len(refused) >= 3:
                    break
            counts["sms_refused"] += len(refused)
            if len(refused) < 3:
                failures.append(f"cycle {cycle}: the disk never refused a write")
            sid, code = ussd_session(http, base)
            if code:
                acked[code] = sid
                counts["ussd_end_code"] += 1
            else:
                counts["ussd_refused"] += 1
            code = portal_submit(http, base)
            if code:
                acked[code] = "web"
                counts["web_303"] += 1
            else:
                counts["web_503"] += 1
            filler.unlink()
            for form in refused:
                code = sms_code(deliver_sms(http, base, form))
                if code:
                    acked[code] = form["MessageSid"]
                    counts["retried_ok"] += 1
                else:
                    counts["retry_failed"] += 1
                    failures.append(f"cycle {cycle}: retry of {form['MessageSid']} after space returned failed")
            code = portal_submit(http, base)
            if code is None:
                failures.append(f"cycle {cycle}: portal still failing after space returned")
            else:
                acked[code] = "web"
    except requests.Timeout:
        failures.append(f"cycle {cycle}: the server did not answer within 10 s (hung)")
        proc.send_signal(signal.SIGABRT)  # faulthandler dumps the threads
        proc.wait(timeout=30)
        print(log_tail(workdir, 8000), file=sys.stderr)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
    db = sqlite3.connect(db_path)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        stored = {r[0] for r in db.execute("SELECT tracking_code FROM requests")}
        dup = db.execute("SELECT count(*) FROM (SELECT 1 FROM requests WHERE channel_message_id IS NOT NULL "
                         "GROUP BY channel, channel_message_id HAVING count(*) > 1)").fetchone()[0]
        total = db.execute("SELECT count(*) FROM requests").fetchone()[0]
    finally:
        db.close()
    lost = [c for c in acked if c not in stored]
    ok = not lost and dup == 0 and integrity == "ok" and not failures and counts["bad_status"] == 0
    for line in failures[:20]:
        print(line, file=sys.stderr)
    print(f"seed={seed} cycles={args.cycles} duration={time.monotonic() - started:.0f}s")
    print(f"while full: sms acked={counts['sms_acked']} refused={counts['sms_refused']} "
          f"by status={counts['sms_refused_status']}; ussd END+code={counts['ussd_end_code']} "
          f"refused={counts['ussd_refused']}; portal 303={counts['web_303']} error={counts['web_503']}")
    print(f"after space returned: retried ok={counts['retried_ok']} failed={counts['retry_failed']}")
    print(f"acknowledged={len(acked)} stored={total} lost={len(lost)} duplicated={dup} "
          f"integrity_check={integrity} non-5xx refusals={counts['bad_status']}")
    print("RESULT: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
