"""Stolen-disk campaign: hundreds of requests over every channel, SIGKILLs, then image the disk.

Each cycle starts a real ``simpul serve`` (waitress on a free loopback port) on one provisioned
data folder with an admin officer, drives ``--rounds`` mixed rounds through the real endpoints
(Twilio-signed SMS for all five demo services, full USSD sessions plus one left unfinished as a
draft, portal submissions with CSRF, a kiosk login with assisted submissions, status changes with
a note and portal feedback comments), then SIGKILLs it - the WAL and -shm stay as they are, and
the USSD rows of that run are left sealed under a key that died with it. After the last cycle
every file in the data folder (simpul.db, -wal, -shm, the server log) is searched for every NIK
(exact bytes), name, address and free text (case-insensitive) that was typed.

    .venv/bin/python bench/soak_stolen_disk.py --cycles 4 --rounds 12 --seed 6006

Prints the seed, the request counts, the distinct values searched, hits and bytes scanned;
exits 1 when a NIK, name, address or free text is found. Officers' notes are reported on their
own line (sealed by the kiosk part's ``m007_sealed_notes``; see tests/test_stolen_disk.py).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.stolen_disk_support import Citizens, People, Typed, drive, image, report  # noqa: E402
from tests.stolen_disk_support import Node as Served  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=4, help="serve runs, each ended by SIGKILL")
    parser.add_argument("--rounds", type=int, default=12, help="mixed rounds per cycle (9 requests each)")
    parser.add_argument("--seed", type=int, default=6006)
    parser.add_argument("--keep", action="store_true", help="keep the data folder and print its path")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    typed = Typed()
    workdir = Path(tempfile.mkdtemp(prefix="simpul-stolen-"))
    started = time.monotonic()
    served = Served(workdir)
    for _cycle in range(args.cycles):
        try:
            drive(Citizens(served.start(), People(rng, typed), typed), rng, args.rounds)
        finally:
            served.kill()
    scan = image(workdir, typed)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    print(f"stolen-disk campaign: seed {args.seed}, cycles {args.cycles} x rounds {args.rounds}, "
          f"commit {commit or '?'}, {time.monotonic() - started:.0f} s")
    print(report(scan, typed))
    personal = sum(len(scan.hits[k]) for k in ("nik", "name", "address", "free text"))
    print(f"hits (NIK/name/address/free text) = {personal}; officer notes = {len(scan.hits['note'])}")
    if args.keep:
        print("data folder:", workdir)
    else:
        for path in sorted(workdir.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        workdir.rmdir()
    return 1 if personal else 0


if __name__ == "__main__":
    sys.exit(main())
