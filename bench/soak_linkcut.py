"""Link-cut campaign: cut the node<->regional link at random byte offsets during sync passes.

One real ``simpul regional serve`` process and one node database are reused across all cuts; the
node talks to the regional server through ``tests/faultproxy.py``. Each round:

1. citizens submit a few new requests through the real pipeline and an officer moves one request
   on (a status event to push);
2. one sync pass runs with a one-shot cut armed at a random byte offset of a random direction
   (``up`` cuts a request mid-send, ``down`` cuts after the server answered, i.e. after its commit
   and before the node read the ack); offsets are drawn over the bytes a clean pass of the same
   shape moves, so every cut lands inside the pass - a round whose cut did not fire is redrawn and
   not counted;
3. the next clean pass must succeed and converge: nothing unsynced on the node, every node request
   and node-made event on the regional server exactly once.

    .venv/bin/python bench/soak_linkcut.py --count 1000 --seed 6002

Prints counts and the seed; exits 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.cases import records as cases  # noqa: E402
from gateway.config.loader import load_config  # noqa: E402
from gateway.intake.pipeline import Submission  # noqa: E402
from gateway.node import Node  # noqa: E402
from sync.client import state  # noqa: E402
from sync.client.runner import run_pass  # noqa: E402
from tests.faultproxy import FaultProxy  # noqa: E402
from tests.syncenv import NodeBox, Regional, citizen  # noqa: E402


def submit_round(node: Node, rng: random.Random, round_: int, n: int) -> None:
    for i in range(n):
        phone, values = citizen(rng)
        receipt = node.pipeline.submit(Submission(channel="sms", service="DOMISILI", values=values, sender=phone,
                                                  locale="id", channel_message_id=f"SMsoak{round_:06d}-{i}"))
        if not receipt.ok:
            raise RuntimeError(receipt.render_problems("en"))
    row = node.store.read().execute(
        "SELECT id FROM requests WHERE status = 'received' ORDER BY random() LIMIT 1").fetchone()
    if row:
        node.store.write(lambda db: cases.change_status(db, row[0], "in_progress", actor="soak"))


def converged(node: Node, regional: Regional) -> list[str]:
    """Problems with exactly-once delivery (empty when the node and regional server agree)."""
    db = node.store.read()
    node_ids = {r[0] for r in db.execute("SELECT id FROM requests")}
    # the first "received" event of each request travels inside the request itself
    node_events = {r[0] for r in db.execute(
        "SELECT id FROM status_events e WHERE origin = 'node' AND seq > "
        "(SELECT min(p.seq) FROM status_events p WHERE p.request_id = e.request_id)")}
    unsynced = db.execute("SELECT (SELECT count(*) FROM requests WHERE synced = 0) + "
                          "(SELECT count(*) FROM status_events WHERE synced = 0 AND origin = 'node')").fetchone()[0]
    reg = [r[0] for r in regional.query("SELECT id FROM requests")]
    reg_events = {r[0] for r in regional.query("SELECT id FROM events")}
    problems = []
    if unsynced:
        problems.append(f"{unsynced} unsynced on the node")
    if len(reg) != len(set(reg)):
        problems.append(f"{len(reg) - len(set(reg))} duplicated on the regional server")
    if node_ids - set(reg):
        problems.append(f"{len(node_ids - set(reg))} requests lost")
    if set(reg) - node_ids:
        problems.append(f"{len(set(reg) - node_ids)} unknown requests on the regional server")
    if node_events - reg_events:
        problems.append(f"{len(node_events - reg_events)} events lost")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=50, help="cuts that fired (rounds)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--per-round", type=int, default=6, help="new requests between cuts")
    parser.add_argument("--batch-size", type=int, default=4, help="small batches: several round trips per pass")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="soak-linkcut-"))
    print(f"soak_linkcut: seed={seed} count={args.count} workdir={root}", flush=True)
    started = time.monotonic()
    regional = Regional(root / "regional").start()
    proxy = FaultProxy(regional.port)
    box = NodeBox(root / "node", "desa-soak", proxy.url, regional.add_node("desa-soak"))
    os.environ["SIMPUL_SYNC_SECRET"] = box.secret
    node = Node(load_config(box.config))
    counts = {"cuts": 0, "cut_up": 0, "cut_down": 0, "redrawn": 0, "cut_pass_ok": 0, "failures": 0}
    stages: dict[str, int] = {}
    span = {"up": 0, "down": 0}
    try:
        # calibrate: the bytes a clean pass of one round's shape moves in each direction
        submit_round(node, rng, 0, args.per_round)
        node.store.write(lambda db: state.put(db, "batch_size", args.batch_size))
        proxy.reset()
        first = run_pass(node)
        assert first.ok, first.error
        span = {"up": proxy.up, "down": proxy.down}
        round_ = 0
        while counts["cuts"] < args.count:
            round_ += 1
            submit_round(node, rng, round_, args.per_round)
            node.store.write(lambda db: state.put(db, "batch_size", args.batch_size))
            direction = rng.choice(("up", "down"))
            offset = rng.randrange(0, span[direction])
            proxy.reset()
            before = proxy.cuts
            setattr(proxy, f"cut_{direction}_at", offset)
            cut = run_pass(node)
            proxy.cut_up_at = proxy.cut_down_at = None
            if proxy.cuts == before:
                counts["redrawn"] += 1  # the pass moved fewer bytes than the offset: not a cut
            else:
                counts["cuts"] += 1
                counts[f"cut_{direction}"] += 1
                counts["cut_pass_ok"] += cut.ok  # a cut after the last ack can still end ok
                if not cut.ok:
                    stages[str(cut.stage)] = stages.get(str(cut.stage), 0) + 1
            node.store.write(lambda db: state.put(db, "batch_size", args.batch_size))
            clean = run_pass(node)
            problems = ([] if clean.ok else [f"clean pass failed at {clean.stage}: {clean.error}"])
            problems += converged(node, regional)
            if problems:
                counts["failures"] += 1
                print(f"round {round_} cut {direction}@{offset}: {'; '.join(problems)}", file=sys.stderr)
            if proxy.cuts != before and counts["cuts"] % 100 == 0:
                print(f"cuts={counts['cuts']} failures={counts['failures']} t={time.monotonic() - started:.0f}s",
                      flush=True)
        problems = converged(node, regional)
        node_requests = node.store.read().execute("SELECT count(*) FROM requests").fetchone()[0]
        node_events = node.store.read().execute(
            "SELECT count(*) FROM status_events WHERE origin = 'node'").fetchone()[0]
    finally:
        node.close()
        proxy.close()
        regional.stop()
    reg_total, reg_distinct = regional.query("SELECT count(*), count(DISTINCT id) FROM requests")[0]
    lost = node_requests - len({r[0] for r in regional.query("SELECT id FROM requests")})
    ok = not problems and counts["failures"] == 0 and lost == 0 and reg_total == reg_distinct
    print(f"seed={seed} rounds={round_} duration={time.monotonic() - started:.0f}s")
    print(f"cuts={counts['cuts']} (up={counts['cut_up']} down={counts['cut_down']}) redrawn={counts['redrawn']} "
          f"offset span up={span['up']} down={span['down']} bytes")
    print(f"cut passes that failed, by stage: {stages}; cut passes that still ended ok: {counts['cut_pass_ok']}")
    print(f"node requests={node_requests} node events={node_events} regional requests={reg_total}")
    print(f"lost={lost} duplicated={reg_total - reg_distinct} rounds not converged={counts['failures']}")
    print("RESULT: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
