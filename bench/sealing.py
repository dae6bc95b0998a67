"""What sealing personal data costs, next to what it is compared with.

Each figure is measured in the same run as its baseline:
- seal one request's personal fields (epoch sealer, two copies) vs
  ``json.dumps`` of the same values (what storing them in clear costs);
- open one request (node copy) vs ``json.loads``;
- a kiosk login's key unlock (argon2id holder slot + grant) vs the argon2id
  password verify that login already does;
- blind-index catch-up (open + HMAC tokens + write) in requests/s vs pipeline
  submissions/s on the same node;
- rotation (re-seal every node copy) in requests/s.

    .venv/bin/python bench/sealing.py [--n 2000]
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402

from gateway.config.loader import load_config  # noqa: E402
from gateway.intake.pipeline import Submission  # noqa: E402
from gateway.node import Node  # noqa: E402
from gateway.privacy import (
    keys,  # noqa: E402
    lookup,
    rotation,
    sealing,
)
from gateway.web.passwords import HASHER  # noqa: E402

VALUES = {"nik": "3201011708900001", "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}


def per_call(fn, n: int) -> float:  # noqa: ANN001
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory() as tmp:
        regional = base64.b64encode(sealing.public_bytes(X25519PrivateKey.generate().public_key())).decode()
        config = load_config(overrides={"storage": {"path": str(Path(tmp) / "b.db")}, "jobs": {"enabled": False},
                                        "sync": {"regional_key": regional}})
        node = Node(config)
        node.store  # noqa: B018
        code = node.new_recovery_code
        vault = node.vault
        vault.ready()
        dumps = per_call(lambda i: json.dumps(dict(VALUES, name=f"Warga {i}")), n)
        seal = per_call(lambda i: vault.seal(f"r{i}", dict(VALUES, name=f"Warga {i}")), n)
        blobs = [vault.seal(f"r{i}", VALUES)[0] for i in range(n)]
        held = keys.recover(node.store.read(), code)
        opener = vault.opener(held)
        plain = [json.dumps(VALUES) for _ in range(n)]
        loads = per_call(lambda i: json.loads(plain[i]), n)
        opens = per_call(lambda i: opener.personal(f"r{i}", blobs[i]), n)

        node.store.write(lambda db: keys.add_holder(db, "ani", "rahasia-ani-1"))
        node.store.write(lambda db: keys.grant(db, "ani", held))
        pw_hash = HASHER.hash("rahasia-ani-1")
        verify = per_call(lambda i: HASHER.verify(pw_hash, "rahasia-ani-1"), 10)
        unlock = per_call(lambda i: keys.unlock(node.store.read(), "ani", "rahasia-ani-1"), 10)

        start = time.perf_counter()
        for i in range(n):
            node.pipeline.submit(Submission("sms", "DOMISILI", dict(VALUES, name=f"Warga {i}"),
                                            sender=f"+62812{i:07d}"))
        submit_rate = n / (time.perf_counter() - start)
        start = time.perf_counter()
        indexed = lookup.catch_up(node.store, opener)
        index_rate = indexed / (time.perf_counter() - start)
        start = time.perf_counter()
        result = rotation.rotate(node, held, "bench", settle_seconds=0)
        rotate_rate = result.resealed / (time.perf_counter() - start)
        node.close()

    print(f"# sealing bench  n={n}  python {platform.python_version()}  {platform.machine()}")
    print(f"seal 2 copies      {seal * 1e6:8.1f} us/request   baseline json.dumps {dumps * 1e6:6.1f} us")
    print(f"open node copy     {opens * 1e6:8.1f} us/request   baseline json.loads {loads * 1e6:6.1f} us")
    print(f"login key unlock   {unlock * 1e3:8.1f} ms           baseline password verify {verify * 1e3:6.1f} ms")
    print(f"blind-index catch-up {index_rate:8.0f} requests/s  baseline pipeline submit {submit_rate:6.0f}/s")
    print(f"rotation re-seal   {rotate_rate:8.0f} requests/s  ({result.resealed} re-sealed)")


if __name__ == "__main__":
    main()
