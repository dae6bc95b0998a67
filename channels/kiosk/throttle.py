"""Slowing down password guessing without letting anyone lock an officer out.

Failures are counted per (username, client address). After ``free``
failures each further one blocks that pair for an exponentially growing
delay (30 s, 60 s, 120 s ... up to ``max_delay``). There is no account
lockout: a stranger hammering an account from another machine only delays
themselves, and the officer at the kiosk logs in as usual. A successful
login clears the pair's counter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from gateway import clock

BASE_DELAY_SECONDS = 30


@dataclass(frozen=True)
class Policy:
    free: int = 5
    max_delay: int = 900

    def delay_after(self, failures: int) -> int:
        """Seconds the pair is blocked after its ``failures``-th failure."""
        if failures < self.free:
            return 0
        return min(self.max_delay, BASE_DELAY_SECONDS * 2 ** min(failures - self.free, 20))


def wait_seconds(db: sqlite_utils.Database, username: str, client: str, now: dt.datetime | None = None) -> int:
    """Seconds until this pair may try again (0: go ahead)."""
    row = db.execute("SELECT blocked_until FROM login_failures WHERE username = ? AND client = ?",
                     [username, client]).fetchone()
    if not row or not row[0]:
        return 0
    left = (clock.parse(row[0]) - (now or clock.now())).total_seconds()
    return max(0, int(left + 0.999))


def record_failure(db: sqlite_utils.Database, username: str, client: str, policy: Policy,
                   now: dt.datetime | None = None) -> int:
    """Count a failure (inside a write job); return the resulting wait in seconds."""
    moment = now or clock.now()
    row = db.execute("SELECT failures FROM login_failures WHERE username = ? AND client = ?",
                     [username, client]).fetchone()
    failures = (row[0] if row else 0) + 1
    delay = policy.delay_after(failures)
    blocked = clock.to_iso(moment + dt.timedelta(seconds=delay)) if delay else None
    db.execute(
        "INSERT INTO login_failures (username, client, failures, last_failure_at, blocked_until) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (username, client) DO UPDATE SET "
        "failures = excluded.failures, last_failure_at = excluded.last_failure_at, "
        "blocked_until = excluded.blocked_until",
        [username, client, failures, clock.to_iso(moment), blocked],
    )
    return delay


def clear(db: sqlite_utils.Database, username: str, client: str) -> None:
    db.execute("DELETE FROM login_failures WHERE username = ? AND client = ?", [username, client])


def forget_old(db: sqlite_utils.Database, older_than: dt.timedelta = dt.timedelta(days=1)) -> None:
    """Counters of pairs quiet for a day start again from zero."""
    db.execute("DELETE FROM login_failures WHERE last_failure_at < ?",
               [clock.to_iso(clock.now() - older_than)])
