"""Pipeline submissions/s into the store vs raw SQLite one-row commits/s.

Both use the same pragmas (WAL, synchronous=FULL) on a real file in a temp
dir. The raw baseline is the ceiling for "one acknowledged request = one
durable commit"; the pipeline adds validation, a status event and JSON, and
gains back by group-committing concurrent submissions.

    .venv/bin/python bench/ingest.py [--n 3000] [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

# The repo root first: bench/channels.py must not shadow the channels package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.config.loader import load_config  # noqa: E402
from gateway.intake.pipeline import Submission  # noqa: E402
from gateway.node import Node  # noqa: E402
from gateway.storage.store import connect  # noqa: E402

VALUES = {"nik": "3201011708900001", "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}


def raw_commits(path: Path, n: int) -> float:
    db = connect(path)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    start = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (body) VALUES (?)", [json.dumps(VALUES) + str(i)])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.conn.close()
    return n / elapsed


def pipeline_rate(path: Path, n: int, threads: int) -> tuple[float, int]:
    node = Node(load_config(overrides={"storage": {"path": str(path)}}, environ={}))
    node.pipeline.submit(Submission("bench", "DOMISILI", VALUES))  # warm: migrations, catalog
    commits_before = node.store.writer.commits
    per_thread = n // threads
    barrier = threading.Barrier(threads + 1)

    refused: list[str] = []

    def worker(k: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            # One phone per request: intake.max_per_phone_per_hour (10) refuses an 11th from one
            # phone, and a refused submission stores nothing, so it must not be counted as one.
            receipt = node.pipeline.submit(Submission("bench", "DOMISILI", VALUES, sender=f"0812{k:02d}{i:06d}",
                                                      channel_message_id=f"{k}-{i}"))
            if not receipt.ok:
                refused.append(f"{k}-{i}")

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    commits = node.store.writer.commits - commits_before
    node.close()
    if refused:
        raise SystemExit(f"{len(refused)} submissions refused (first: {refused[0]}): no figure to report")
    return per_thread * threads / elapsed, commits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_commits(Path(tmp) / "raw.db", args.n)
        single, single_commits = pipeline_rate(Path(tmp) / "p1.db", args.n, 1)
        multi, multi_commits = pipeline_rate(Path(tmp) / "p8.db", args.n, args.threads)
    print(f"# ingest benchmark  {time.strftime('%Y-%m-%d')}  {platform.machine()}  "
          f"Python {platform.python_version()}  n={args.n}")
    print("| measurement | per second | vs raw | commits |")
    print("|---|---:|---:|---:|")
    print(f"| raw SQLite one-row commits (WAL, FULL) | {raw:,.0f} | 100% | {args.n:,} |")
    print(f"| pipeline submit, 1 thread | {single:,.0f} | {single / raw:.0%} | {single_commits:,} |")
    print(f"| pipeline submit, {args.threads} threads (group commit) | {multi:,.0f} | {multi / raw:.0%} | "
          f"{multi_commits:,} |")
    print(f"target: pipeline >= 50% of raw -> {'met' if max(single, multi) >= 0.5 * raw else 'NOT met'}")


if __name__ == "__main__":
    main()
