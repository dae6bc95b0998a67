"""Throwaway PostgreSQL clusters for tests and benchmarks (Debian's binaries, run as ``postgres``).

PostgreSQL refuses to run as root, so when the tests run as root every
``initdb``/``pg_ctl`` runs through ``runuser -u postgres --`` and the data
dir is a temp dir owned by that user; otherwise they run as the current user.
Each cluster listens on a free loopback port with its unix socket inside its
own temp dir, so a system cluster on 5432 (apt may start one) is never used.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def pg_bin(name: str) -> str:
    """The newest installed PostgreSQL binary ``name`` (Debian keeps them off PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise RuntimeError(f"PostgreSQL's {name} not found (make test installs Debian's postgresql)")


def available() -> bool:
    try:
        pg_bin("initdb")
        pg_bin("pg_ctl")
    except RuntimeError:
        return False
    return os.geteuid() != 0 or _has_user("postgres")


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL cluster in a temp dir; ``start()``, ``url(db)``, ``stop()``."""

    def __init__(self, root: Path | None = None, name: str = "primary"):
        self.owned_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="simpul-pg-"))
        self.data = self.root / name
        self.sock = self.root / f"{name}-sock"
        self.log = self.root / f"{name}.log"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chmod(self.root, 0o700)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run([*prefix, *args], capture_output=True, text=True, check=check, timeout=120,
                              cwd="/")

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def init(self) -> Cluster:
        self._own(self.sock)
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8", "--locale", "C")
        self._configure()
        return self

    def _configure(self) -> None:
        conf = (f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.sock}'\nfsync = off\nfull_page_writes = off\n"
                "max_connections = 200\nwal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n")
        self._run("sh", "-c", f"cat >> '{self.data}/postgresql.auto.conf' <<'EOF'\n{conf}EOF")
        # The role 'simpul_pw' must give a password; everything else on loopback is trusted.
        hba = ("local all all trust\nhost all simpul_pw 127.0.0.1/32 scram-sha-256\n"
               "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n")
        self._run("sh", "-c", f"cat > '{self.data}/pg_hba.conf' <<'EOF'\n{hba}EOF")

    def start(self) -> Cluster:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def cleanup(self) -> None:
        self.stop()
        if self.owned_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def standby(self, name: str = "standby") -> Cluster:
        """A hot standby of this cluster (``pg_basebackup -R``), in the same temp dir, started."""
        other = Cluster(self.root, name)
        other.owned_root = False
        other._own(other.sock)
        self._run(pg_bin("pg_basebackup"), "-D", str(other.data), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "postgres", "-R", "-X", "stream", "--no-sync")
        other._run("sh", "-c", f"cat >> '{other.data}/postgresql.auto.conf' <<'EOF'\n"
                               f"port = {other.port}\nunix_socket_directories = '{other.sock}'\n"
                               "hot_standby_feedback = on\nEOF")
        return other.start()

    def url(self, db: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, db: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, name: str) -> str:
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def wait_replayed(self, standby: Cluster, timeout: float = 30) -> None:
        """Block until ``standby`` has replayed everything this primary has written so far."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(standby.url(), autocommit=True) as conn:
            while time.monotonic() < deadline:
                done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]
                if done:
                    return
                time.sleep(0.05)
        raise TimeoutError("standby did not catch up")
