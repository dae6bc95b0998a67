"""A process killed mid-write loses nothing it acknowledged and leaves a sound database."""

import random
import signal
import subprocess
import sys
import time

from gateway.storage.store import connect

WRITER = r"""
import sys, threading
from gateway.config.loader import load_config
from gateway.node import Node
from gateway.intake.pipeline import Submission
node = Node(load_config(overrides={"storage": {"path": sys.argv[1]}}, environ={}))
prefix = sys.argv[2]
out = threading.Lock()
def work(k):
    i = 0
    while True:
        r = node.pipeline.submit(Submission("sms", "ADUAN", {"message": f"{prefix}-{k}-{i}"},
                                            channel_message_id=f"{prefix}-{k}-{i}"))
        with out:  # the 'reply': only after a durable commit
            sys.stdout.write(r.tracking_code + "\n")
            sys.stdout.flush()
        i += 1
for k in range(4):
    threading.Thread(target=work, args=(k,), daemon=True).start()
threading.Event().wait()
"""


def test_sigkill_during_concurrent_writes(tmp_path):
    db_path = tmp_path / "crash.db"
    rng = random.Random(4242)
    acknowledged: list[str] = []
    for cycle in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), f"c{cycle}"],
                                stdout=subprocess.PIPE, text=True)
        first = proc.stdout.readline()  # kill only once writes are flowing (start-up may be slow)
        time.sleep(rng.random() * 0.8)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        acknowledged += [line for line in (first + out).splitlines() if line.strip()]
    assert len(acknowledged) > 50
    db = connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in db.execute("SELECT tracking_code FROM requests")}
    lost = [c for c in acknowledged if c not in stored]
    assert lost == []
    # every stored request has its 'received' event: the two were one transaction
    orphans = db.execute("SELECT count(*) FROM requests r WHERE NOT EXISTS "
                         "(SELECT 1 FROM status_events e WHERE e.request_id = r.id)").fetchone()[0]
    assert orphans == 0
