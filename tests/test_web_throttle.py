"""The login throttle under concurrency (issue #16.2) and clean audit actors (#16.6).

A real waitress server on 127.0.0.1 receives 40 simultaneous wrong logins for
one (user, address) pair; the argon2 verifications are counted by a hasher
that tallies its own calls. Reserving the attempt in the write transaction
that decides it means at most 5 checks, whatever the interleaving.
"""

from __future__ import annotations

import threading

import pytest
import requests
from argon2 import PasswordHasher

from gateway.privacy import audit
from gateway.storage.store import Store
from gateway.web import passwords
from gateway.web.throttle import UNKNOWN, Policy, SqlPairs, Throttle
from tests.inthread_server import serve_in_thread
from tests.kiosk_support import PASSWORD, add_officer, hidden

ATTEMPTS = 40


class CountingHasher(PasswordHasher):
    """argon2id with the node's parameters that counts every verification it runs."""

    def __init__(self) -> None:
        super().__init__(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
        self.verifications = 0
        self._lock = threading.Lock()

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        with self._lock:
            self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def served(app):
    """The node app on a real waitress server (8 threads) on a free loopback port."""
    with serve_in_thread(app, threads=8) as server:
        yield f"http://127.0.0.1:{server.effective_port}"


@pytest.fixture
def counting(monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(passwords, "HASHER", hasher)
    return hasher


def _storm(base: str, usernames: list[str], password: str) -> list[int]:
    """Each thread fetches its own login form, then all post at once."""
    barrier = threading.Barrier(len(usernames))
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(username: str) -> None:
        session = requests.Session()
        data = hidden(session.get(f"{base}/kiosk/login", timeout=30).text)
        data.update(username=username, password=password)
        barrier.wait(timeout=60)
        status = session.post(f"{base}/kiosk/login", data=data, allow_redirects=False, timeout=120).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt, args=(u,)) for u in usernames]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return statuses


def test_forty_concurrent_wrong_logins_run_at_most_five_password_checks(node, served, counting):
    add_officer(node)
    counting.verifications = 0
    statuses = _storm(served, ["siti"] * ATTEMPTS, "tebakan-salah")
    assert len(statuses) == ATTEMPTS
    assert counting.verifications == 5
    assert statuses.count(401) == 4 and statuses.count(429) == ATTEMPTS - 4
    failed = node.store.read().execute("SELECT count(*) FROM audit_log WHERE action = ?",
                                       [audit.LOGIN_FAILED]).fetchone()[0]
    assert failed == 5  # only attempts that were checked are audited
    # The right password from the same address waits too; the throttle forgot nothing.
    assert _storm(served, ["siti"], PASSWORD) == [429]


def test_invented_usernames_share_one_bucket_per_client(node, served, counting):
    add_officer(node)
    counting.verifications = 0
    statuses = _storm(served, [f"orang{i}" for i in range(ATTEMPTS)], "apa-saja-123")
    assert counting.verifications == 5 and statuses.count(429) == ATTEMPTS - 4
    buckets = node.store.read().execute("SELECT username, failures FROM login_failures").fetchall()
    assert buckets == [(UNKNOWN, 5)]
    # The real officer (own bucket) still logs in from the same address.
    assert _storm(served, ["siti"], PASSWORD) == [303]


def test_reservation_is_atomic_for_any_store_user(tmp_path):
    store = Store(tmp_path / "t.db")
    store.write(lambda db: db.execute(
        "CREATE TABLE login_failures (username TEXT, client TEXT, failures INTEGER NOT NULL, "
        "last_failure_at TEXT NOT NULL, blocked_until TEXT, PRIMARY KEY (username, client))"))
    throttle = Throttle(SqlPairs(store), Policy(free=5, max_delay=900))
    barrier = threading.Barrier(ATTEMPTS)
    allowed: list[bool] = []

    def go() -> None:
        barrier.wait()
        allowed.append(throttle.reserve("siti", "10.0.0.9").allowed)

    threads = [threading.Thread(target=go) for _ in range(ATTEMPTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 5
    assert throttle.reserve("siti", "10.0.0.10").allowed  # another client: its own pair
    throttle.succeeded("siti", "10.0.0.9")
    assert throttle.reserve("siti", "10.0.0.9").allowed
    store.close()


def test_failed_login_audit_never_keeps_what_was_typed_as_username(node, client):
    from tests.kiosk_support import login

    add_officer(node)
    typed = "\x1b[2J\x1b[31mkataSandiSaya99"
    assert login(client, username=typed, password="x" * 9).status_code == 401
    assert login(client, username="siti", password="salah-salah").status_code == 401
    actors = [r[0] for r in node.store.read().execute(
        "SELECT actor FROM audit_log WHERE action = ? ORDER BY seq", [audit.LOGIN_FAILED]).fetchall()]
    assert actors == [UNKNOWN, "siti"]
    dump = "\n".join(str(r) for r in node.store.read().execute("SELECT * FROM audit_log").fetchall())
    assert "kataSandiSaya99" not in dump.lower() and "katasandisaya99" not in dump.lower()
