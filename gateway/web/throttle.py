"""Slowing down password guessing without letting anyone lock an account out.

Attempts are counted per (username, client address). After ``free`` attempts
each further failure blocks that pair for an exponentially growing delay
(30 s, 60 s, 120 s ... up to ``max_delay``). There is no account lockout: a
stranger hammering an account from another machine only delays themselves.
A successful login clears the pair.

An attempt is *reserved* before the password is checked, in the same write
transaction that decides whether it may go ahead (:meth:`Throttle.reserve`):
it counts as a failure until the login succeeds. Check-then-act would let 40
concurrent guesses all pass the check before any failure was written; with
the reservation at most ``free`` argon2 checks run per pair and window.

Usernames that are no account share one bucket per client (:data:`UNKNOWN`),
so inventing names does not buy fresh attempts.

Storage sits behind :class:`PairStore` (one atomic read-modify-write per
pair); :class:`SqlPairs` serves the node and the regional server (SQLite or
PostgreSQL: its SQL is portable, ``?`` placeholders, ``ON CONFLICT``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gateway import clock

BASE_DELAY_SECONDS = 30
UNKNOWN = "<unknown>"
FORGET_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class Policy:
    free: int = 5
    max_delay: int = 900

    def delay_after(self, failures: int) -> int:
        """Seconds the pair is blocked after its ``failures``-th failure."""
        if failures < self.free:
            return 0
        return min(self.max_delay, BASE_DELAY_SECONDS * 2 ** min(failures - self.free, 20))


@dataclass(frozen=True)
class Pair:
    failures: int
    last_failure_at: str
    blocked_until: str | None


class PairStore(Protocol):
    """Where the counters live (the node's SQLite store, the regional database)."""

    def update(self, username: str, client: str, change: Callable[[Pair | None], Pair | None]) -> None:
        """Read the pair, write ``change(pair)`` back (None: leave it), in one write transaction."""

    def clear(self, username: str, client: str) -> None: ...

    def forget_before(self, moment: str) -> None: ...


@dataclass(frozen=True)
class Attempt:
    """``allowed``: check the password now. ``wait``: seconds to wait (refused), or the wait a
    failure of this attempt imposes (allowed)."""

    allowed: bool
    wait: int


def bucket(username: str, exists: bool) -> str:
    """The throttle key for a login: the account, or the shared unknown-name bucket."""
    return username if exists else UNKNOWN


class Throttle:
    def __init__(self, pairs: PairStore, policy: Policy):
        self.pairs = pairs
        self.policy = policy

    def reserve(self, username: str, client: str, now: dt.datetime | None = None) -> Attempt:
        """Decide and, when allowed, count the attempt as a failure: one atomic step."""
        moment = now or clock.now()
        outcome: list[Attempt] = []

        def change(pair: Pair | None) -> Pair | None:
            if pair is not None and pair.blocked_until:
                left = (clock.parse(pair.blocked_until) - moment).total_seconds()
                if left > 0:  # capped: a clock stepped back must not block for longer than the policy
                    outcome.append(Attempt(False, min(self.policy.max_delay, int(left + 0.999))))
                    return None
            failures = (pair.failures if pair else 0) + 1
            delay = self.policy.delay_after(failures)
            outcome.append(Attempt(True, delay))
            blocked = clock.to_iso(moment + dt.timedelta(seconds=delay)) if delay else None
            return Pair(failures, clock.to_iso(moment), blocked)

        self.pairs.update(username, client, change)
        return outcome[-1]

    def succeeded(self, username: str, client: str) -> None:
        self.pairs.clear(username, client)

    def forget_old(self, now: dt.datetime | None = None) -> None:
        """Counters of pairs quiet for a day start again from zero."""
        self.pairs.forget_before(clock.to_iso((now or clock.now()) - FORGET_AFTER))


class Database(Protocol):
    """A store with ``read()`` and ``write(fn)`` (one write transaction per call), as the node's
    :class:`gateway.storage.store.Store` and the regional store have; its handles offer
    ``execute(sql, params)`` and ``query(sql, params)`` (rows as dicts)."""

    def read(self) -> Any: ...

    def write(self, fn: Callable[[Any], Any]) -> Any: ...


class SqlPairs:
    """:class:`PairStore` on any :class:`Database` (the node's store writes under BEGIN IMMEDIATE;
    a PostgreSQL store must lock the row, ``FOR UPDATE``, or run serializable)."""

    def __init__(self, store: Database, table: str = "login_failures", *, lock: str = ""):
        self.store = store
        self.table = table
        self.lock = lock  # e.g. " FOR UPDATE" on PostgreSQL

    def update(self, username: str, client: str, change: Callable[[Pair | None], Pair | None]) -> None:
        def job(db: Any) -> None:
            # The row exists before it is read, so a row lock (PostgreSQL) covers a pair's first attempt too.
            db.execute(f"INSERT INTO {self.table} (username, client, failures, last_failure_at) "
                       "VALUES (?, ?, 0, ?) ON CONFLICT (username, client) DO NOTHING",
                       [username, client, clock.utcnow()])
            row = next(iter(db.query(f"SELECT failures, last_failure_at, blocked_until FROM {self.table} "
                                     f"WHERE username = ? AND client = ?{self.lock}", [username, client])), None)
            new = change(Pair(**row) if row else None)
            if new is not None:
                db.execute(
                    f"INSERT INTO {self.table} (username, client, failures, last_failure_at, blocked_until) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (username, client) DO UPDATE SET "
                    "failures = excluded.failures, last_failure_at = excluded.last_failure_at, "
                    "blocked_until = excluded.blocked_until",
                    [username, client, new.failures, new.last_failure_at, new.blocked_until])

        self.store.write(job)

    def clear(self, username: str, client: str) -> None:
        self.store.write(lambda db: db.execute(f"DELETE FROM {self.table} WHERE username = ? AND client = ?",
                                               [username, client]))

    def forget_before(self, moment: str) -> None:
        self.store.write(lambda db: db.execute(f"DELETE FROM {self.table} WHERE last_failure_at < ?", [moment]))
