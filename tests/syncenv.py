"""Real regional and node processes on loopback for the sync tests and bench.

Each helper starts the installed ``simpul`` script with its own temp config
and free port, so tests exercise the same code paths an operator does.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

SIMPUL = str(Path(sys.executable).with_name("simpul"))
NIK = "3201011708900001"
# The test regional servers' sealing key (env SIMPUL_REGIONAL_SEAL_KEY) and its public half, which
# test nodes get as sync.regional_key. Fixed, so a node's config can be written before its server runs;
# tests of the key file start a Regional with seal_env=False.
TEST_SEAL_PRIVATE = "YBmLcmTRTkTvzTwz9D3GEXXHSQn0Ng8Ha9CNxvl2yWc="
TEST_SEAL_PUBLIC = "Gfoep0bQoclGZSlyRQXwthJx/2Z2J1amAz9CHEGxBW8="


FIRST = ("Siti", "Budi", "Agus", "Dewi", "Sri", "Ahmad", "Nur", "Putri", "Eko", "Rina", "Yohanes", "Maria",
         "Wayan", "Made", "Ketut", "Fitri", "Joko", "Lestari", "Andi", "Hendra", "Yuliana", "Rahmat")
LAST = ("Aminah", "Santoso", "Wijaya", "Lestari", "Hidayat", "Pratama", "Saputra", "Kurniawan", "Siregar",
        "Nainggolan", "Manurung", "Wulandari", "Rahayu", "Setiawan", "Gultom", "Tanjung", "Sembiring")
STREETS = ("Jl. Mawar", "Jl. Melati", "Jl. Kenanga", "Jl. Merdeka", "Jl. Sudirman", "Dusun Krajan",
           "Dusun Sukamaju", "Jl. Pahlawan", "Gang Masjid", "Jl. Raya Desa")
PROVINCES = (11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
             71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96)


def citizen(rng: random.Random) -> tuple[str, dict[str, str]]:
    """A plausible citizen: phone, and DOMISILI values with a valid, random NIK."""
    day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
    nik = (f"{rng.choice(PROVINCES):02d}{rng.randint(1, 79):02d}{rng.randint(1, 40):02d}"
           f"{day:02d}{rng.randint(1, 12):02d}{rng.randint(40, 99):02d}{rng.randint(1, 9999):04d}")
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    address = f"{rng.choice(STREETS)} No. {rng.randint(1, 150)}, RT {rng.randint(1, 15):02d}/RW {rng.randint(1, 9):02d}"
    phone = f"+628{rng.choice('1235789')}{rng.randint(0, 99_999_999):08d}"
    return phone, {"nik": nik, "name": name, "address": address}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    env["SIMPUL_SECRET_KEY"] = "test-secret-key"
    env.update(extra or {})
    return env


def cli(*args: str, config: Path, env: dict[str, str] | None = None, input: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([SIMPUL, "--config", str(config), *args], env=clean_env(env), input=input,
                          capture_output=True, text=True, timeout=timeout, cwd=config.parent)


def launch(argv: list[str], *, url: str, env: dict[str, str], cwd: Path, log: Path, what: str,
           timeout: float = 30) -> subprocess.Popen:
    """Start ``simpul ARGV`` and return it once ``url``/healthz answers.

    Its stderr goes to ``log`` (a pipe nobody reads would block a chatty server) and is quoted
    when the process dies or never answers.
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen([SIMPUL, *argv], env=clean_env(env), cwd=cwd, stdout=subprocess.DEVNULL, stderr=out)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} died: " + log.read_text("utf-8", errors="replace"))
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"{what} did not start: " + log.read_text("utf-8", errors="replace"))


def stop(proc: subprocess.Popen) -> None:
    """Terminate a server process; kill it if it has not ended within 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def sqlite_run(path: Path, sql: str, args: tuple | list = ()) -> list[tuple]:
    """``sql`` on the SQLite file ``path`` in its own committed transaction; the rows it returns."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            return conn.execute(sql, list(args)).fetchall()
    finally:
        conn.close()


class Regional:
    """A ``simpul regional serve`` process with its own db file."""

    def __init__(self, root: Path, catalog: Path | None = None, seal_env: bool = True, database_url: str = "",
                 extra: str = ""):
        root.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.root = root
        self.env = {"SIMPUL_REGIONAL_SEAL_KEY": TEST_SEAL_PRIVATE} if seal_env else {}
        self.port = free_port()
        self.db = root / "regional.db"
        self.config = root / "regional.toml"
        cat = f'catalog = "{catalog}"\n' if catalog else ""
        self.config.write_text(f'[regional]\nport = {self.port}\ndb = "{self.db}"\n{cat}'
                               f'database_url = "{database_url}"\n{extra}', encoding="utf-8")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Regional:
        self.proc = launch(["--config", str(self.config), "regional", "serve"], url=self.url, env=self.env,
                           cwd=self.root, log=self.root / "serve.log", what="regional server", timeout=20)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)

    def cli(self, *args: str, **kw) -> subprocess.CompletedProcess:
        env = dict(self.env, **kw.pop("env", {}))
        return cli(*args, config=self.config, env=env, **kw)

    def add_node(self, node_id: str) -> str:
        out = self.cli("regional", "add-node", node_id)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def requests(self) -> list[dict]:
        out = self.cli("regional", "requests", "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def execute(self, sql: str, args: tuple | list = ()) -> None:
        """A write straight into the server's database (tests that age or break rows), committed."""
        self._run(sql, args)

    def log_text(self) -> str:
        """What the server wrote to stderr so far."""
        path = self.root / "serve.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def node_secret(self, node_id: str) -> str:
        """A node's HMAC secret as the server holds it: sealed at rest, opened with the test key."""
        from gateway.config.loader import load_config
        from sync.regional import secretbox
        from sync.regional.sealkeys import load_keys

        stored = self.query("SELECT secret FROM nodes WHERE id = ?", (node_id,))[0][0]
        assert secretbox.is_sealed(stored), "a node secret is stored in clear"
        keys = load_keys(load_config(str(self.config)), self.env, create=False)  # the server's: env, else its file
        return secretbox.open_secret(keys, node_id, stored)

    def query(self, sql: str, args: tuple | list = ()) -> list[tuple]:
        return self._run(sql, args)

    def _run(self, sql: str, args: tuple | list) -> list[tuple]:
        """``sql`` (``?`` placeholders) on this server's engine, in its own committed transaction."""
        if self.database_url:
            import psycopg

            from sync.regional.dbapi import pg_sql

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                cur = conn.execute(pg_sql(sql), list(args))
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
        return sqlite_run(self.db, sql, args)

    def dump(self) -> bytes:
        """Everything the server's database holds, as bytes to search (the SQLite files, or pg_dump)."""
        if self.database_url:
            from tests.pg_support import pg_bin

            return subprocess.run([pg_bin("pg_dump"), "--dbname", self.database_url], capture_output=True,
                                  check=True, timeout=120).stdout
        return b"".join(p.read_bytes() for p in sorted(self.db.parent.glob(self.db.name + "*")))


class NodeBox:
    """A node's config, database and secret; commands run as real processes."""

    def __init__(self, root: Path, node_id: str, url: str, secret: str, regional_key: str = TEST_SEAL_PUBLIC):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.node_id = node_id
        self.db = root / "simpul.db"
        self.secret = secret
        self.regional_key = regional_key
        self.config = root / "node.toml"
        self.set_url(url)

    def set_url(self, url: str) -> None:
        self.config.write_text(
            f'[node]\nid = "{self.node_id}"\n[storage]\npath = "{self.db}"\n[sync]\nurl = "{url}"\n'
            f'regional_key = "{self.regional_key}"\n[jobs]\nenabled = false\n', encoding="utf-8")

    @property
    def env(self) -> dict[str, str]:
        return {"SIMPUL_SYNC_SECRET": self.secret}

    def cli(self, *args: str, **kw) -> subprocess.CompletedProcess:
        env = dict(self.env, **kw.pop("env", {}))
        return cli(*args, config=self.config, env=env, **kw)

    def sync(self, **kw) -> subprocess.CompletedProcess:
        return self.cli("sync", "--once", **kw)

    def sync_process(self) -> subprocess.Popen:
        return subprocess.Popen([SIMPUL, "--config", str(self.config), "sync", "--once"],
                                env=clean_env(self.env), cwd=self.root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def submit(self, name: str = "Siti Aminah", phone: str = "081234567890", locale: str = "id") -> str:
        out = self.cli("submit", "DOMISILI", f"nik={NIK}", f"name={name}", f"address=Jl. Mawar {name[-3:]}",
                       "--phone", phone, "--locale", locale)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def submit_many(self, n: int, threads: int = 16, seed: int = 0) -> None:
        """Submit ``n`` realistic requests through the real pipeline (threads so commits group)."""
        from gateway.config.loader import load_config
        from gateway.intake.pipeline import Submission
        from gateway.node import Node

        node = Node(load_config(self.config))
        people = [citizen(random.Random(seed * 1_000_003 + i)) for i in range(n)]
        try:
            def one(i: int) -> None:
                phone, values = people[i]
                receipt = node.pipeline.submit(Submission(
                    channel="sms", service="DOMISILI", channel_message_id=f"SM{self.node_id}{seed}-{i:08d}",
                    sender=phone, locale="id", values=values))
                assert receipt.ok, receipt.render_problems("en")

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(one, range(n)))
        finally:
            node.close()

    def execute(self, sql: str, args: tuple | list = ()) -> None:
        """A write straight into the node's database (tests that age or break rows), committed."""
        sqlite_run(self.db, sql, args)

    def query(self, sql: str, args: tuple | list = ()) -> list[tuple]:
        return sqlite_run(self.db, sql, args)

    def serve(self, *, jobs: bool = False, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
        """``simpul serve`` on this node (the kiosk, and the sync job if ``jobs``); (process, base URL)."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv = ["--config", str(self.config), "serve", "--port", str(port), *([] if jobs else ["--no-jobs"])]
        return launch(argv, url=url, env=dict(self.env, **(env or {})), cwd=self.root,
                      log=self.root / "serve.log", what="simpul serve"), url

    def request_ids(self) -> set[str]:
        return {r[0] for r in self.query("SELECT id FROM requests")}


def assert_exactly_once(regional: Regional, *nodes: NodeBox) -> None:
    """Jepsen's total-queue rule: every request on a node is on the regional server exactly once."""
    rows = regional.query("SELECT id, node_id FROM requests")
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "duplicated on the regional server"
    expected = set()
    for node in nodes:
        expected |= node.request_ids()
        unsynced = node.query("SELECT count(*) FROM requests WHERE synced = 0")[0][0]
        assert unsynced == 0, f"{unsynced} requests still unsynced on {node.node_id}"
    lost = expected - set(ids)
    assert not lost, f"lost {len(lost)} requests"
    extra = set(ids) - expected
    assert not extra, f"{len(extra)} requests on the regional server no node has"
