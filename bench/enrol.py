"""Enrolment benchmark: time and bytes from `simpul node join` to the first completed sync at 64 kbit/s.

Real processes: a ``simpul regional serve``, ``simpul regional enrol-node``
with ``regional.public_url`` pointing at our rate-limiting proxy
(tests/faultproxy.py, 64 kbit/s each way), then on a blank folder
``simpul node join TOKEN`` (redeem the code, write config and secret, create
the database, first sync pass with the catalog) and ``simpul sync --once``.

    .venv/bin/python bench/enrol.py [--rate-kbit 64] [--requests 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import NIK, SIMPUL  # noqa: E402
from tests.faultproxy import FaultProxy  # noqa: E402
from tests.syncenv import Regional  # noqa: E402


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    full.update(env or {})
    started = time.monotonic()
    out = subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[1:4])} failed: {out.stderr}")
    return time.monotonic() - started, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate-kbit", type=float, default=64)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        regional = Regional(root / "regional").start()
        proxy = FaultProxy(regional.port, rate=args.rate_kbit * 1000 / 8)
        try:
            regional.config.write_text(regional.config.read_text().replace(
                "[regional]\n", f'[regional]\npublic_url = "{proxy.url}"\n'), encoding="utf-8")
            token = regional.cli("regional", "enrol-node", "desa-bench").stdout.strip()
            node = root / "node"
            node.mkdir()
            cfg = node / "config.toml"
            proxy.reset()
            seconds, out = run([SIMPUL, "--config", str(cfg), "node", "join", token], node)
            join_up, join_down = proxy.up, proxy.down
            print(f"token: {len(token)} characters")
            print(f"node join (redeem + init + first sync pass): {seconds:.2f} s, "
                  f"{join_up} B up, {join_down} B down through the proxy")
            for i in range(args.requests):
                run([SIMPUL, "--config", str(cfg), "submit", "DOMISILI", f"nik={NIK}", f"name=Warga {i:04d}",
                     f"address=Jl. Mawar {i}"], node)
            proxy.reset()
            seconds2, out = run([SIMPUL, "--config", str(cfg), "sync", "--once"], node)
            print(f"then sync --once with {args.requests} requests: {seconds2:.2f} s, {proxy.up} B up, "
                  f"{proxy.down} B down")
            print(f"join to first completed sync of those requests: {seconds + seconds2:.2f} s, "
                  f"{join_up + join_down + proxy.up + proxy.down} B in all")
        finally:
            proxy.close()
            regional.stop()


if __name__ == "__main__":
    main()
