"""Outbound delivery bookkeeping: claim, acknowledge, retry, status callbacks.

The core's half of sending: the SMS part's sender and providers call these;
only this module changes ``outbound`` rows after they are queued.

All functions that change a row run inside ``store.write``. The life of a row:

    queued --claim--> sending --ack--> sent --callback--> delivered | undelivered | failed
             ^           |
             +--retry----+  (definite failure, attempts left: backoff + jitter)
                         +--> failed (no attempts left, permanent error, or unknown outcome)

A row is moved to ``sending`` in its own committed write *before* the
network call, so two senders (the serve job and ``simpul sms gammu-receive``)
never pick the same row. If the process dies between the call and the ack,
the row is left in ``sending``; after ``LEASE_SECONDS`` it is resolved
without resending blindly (see ``recover_stale``).

A body may carry personal data (a case worker's note in a status SMS), so
it is kept only while something may still send it: it is blanked (the row
stays for status and audit) once the message is ``delivered``, at once when
a provider without delivery reports took it (Gammu: nothing can ever make it
``undelivered`` and so resendable), and ``SENT_BODY_KEEP_HOURS`` after a
Twilio send with no final report (``forget_sent_bodies``). Failed and
undelivered rows keep it for ``simpul sms requeue``.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import sqlite_utils

from gateway import clock
from gateway.storage.store import Store

SENT_BODY_KEEP_HOURS = 72  # a late Twilio "undelivered" may still make a row resendable
LEASE_SECONDS = 120  # longer than any provider call may take (timeouts are 30 s)
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600

# Twilio MessageStatus -> our status; the rank keeps a late "sent" callback
# from undoing "delivered".
CALLBACK_STATUS = {
    "accepted": "sent", "scheduled": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
    "delivered": "delivered", "read": "delivered", "undelivered": "undelivered", "failed": "failed",
}
_RANK = {"queued": 0, "sending": 1, "sent": 2, "undelivered": 3, "failed": 3, "delivered": 4}


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: base * 2^(n-1), capped, times 0.5..1.5."""
    rng = rng or random.Random()
    delay = min(BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1), BACKOFF_CAP_SECONDS)
    return delay * rng.uniform(0.5, 1.5)


def _iso(moment: dt.datetime) -> str:
    return clock.to_iso(moment)


def claim_next(db: sqlite_utils.Database, provider: str, per_minute: int,
               now: dt.datetime | None = None) -> dict[str, Any] | None:
    """Move the oldest due row to ``sending`` for ``provider``; None if none or paced out.

    Pacing counts attempts this provider started in the last 60 s, across
    every process sharing the database.
    """
    now = now or clock.now()
    minute_ago = _iso(now - dt.timedelta(seconds=60))
    (recent,) = db.execute("SELECT count(*) FROM outbound WHERE provider = ? AND last_attempt_at > ?",
                           [provider, minute_ago]).fetchone()
    if recent >= per_minute:
        return None
    row = db.execute(
        "SELECT id FROM outbound WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id "
        "LIMIT 1", [_iso(now)]).fetchone()
    if row is None:
        return None
    stamp = _iso(now)
    db.execute(
        "UPDATE outbound SET status = 'sending', provider = ?, attempts = attempts + 1, last_attempt_at = ?, "
        "updated_at = ? WHERE id = ? AND status = 'queued'", [provider, stamp, stamp, row[0]])
    return dict(next(iter(db.query("SELECT * FROM outbound WHERE id = ?", [row[0]]))))


def mark_sent(db: sqlite_utils.Database, outbound_id: int, provider_id: str | None,
              provider_status: str | None = None, *, forget_body: bool = False) -> None:
    """The provider took the message; ``forget_body`` when it can never be resent (no delivery reports)."""
    now = clock.utcnow()
    db.execute(
        "UPDATE outbound SET status = 'sent', provider_id = ?, provider_status = ?, sent_at = ?, "
        "last_error = NULL, updated_at = ?, body = CASE WHEN ? THEN '' ELSE body END "
        "WHERE id = ? AND status = 'sending'",
        [provider_id, provider_status, now, now, int(forget_body), outbound_id])


def forget_sent_bodies(db: sqlite_utils.Database, now: dt.datetime | None = None) -> int:
    """Blank the bodies of messages sent ``SENT_BODY_KEEP_HOURS`` ago or delivered; returns how many."""
    cutoff = _iso((now or clock.now()) - dt.timedelta(hours=SENT_BODY_KEEP_HOURS))
    cursor = db.execute("UPDATE outbound SET body = '' WHERE body != '' AND "
                        "(status = 'delivered' OR (status = 'sent' AND sent_at < ?))", [cutoff])
    return cursor.rowcount


def mark_retry(db: sqlite_utils.Database, outbound_id: int, error: str, max_attempts: int,
               rng: random.Random | None = None, *, count_attempt: bool = True) -> str:
    """A definite failure (nothing was handed over): retry later or give up. Returns the new status.

    ``count_attempt=False`` (the provider was unreachable: the node is
    offline) gives the attempt back, so messages wait out an outage of any
    length instead of failing after ``max_attempts`` short retries.
    """
    if not count_attempt:
        db.execute("UPDATE outbound SET attempts = max(0, attempts - 1) WHERE id = ? AND status = 'sending'",
                   [outbound_id])
    row = db.execute("SELECT attempts FROM outbound WHERE id = ?", [outbound_id]).fetchone()
    attempts = row[0] if row else max_attempts
    now = clock.now()
    if count_attempt and attempts >= max_attempts:
        status, due = "failed", _iso(now)
    else:
        status, due = "queued", _iso(now + dt.timedelta(seconds=backoff_seconds(max(1, attempts), rng)))
    db.execute("UPDATE outbound SET status = ?, next_attempt_at = ?, last_error = ?, updated_at = ? "
               "WHERE id = ? AND status = 'sending'", [status, due, error[:500], _iso(now), outbound_id])
    return status


def mark_failed(db: sqlite_utils.Database, outbound_id: int, error: str, error_code: str | None = None) -> None:
    """Permanent error, or an outcome we cannot know: never retried automatically."""
    db.execute("UPDATE outbound SET status = 'failed', last_error = ?, error_code = coalesce(?, error_code), "
               "updated_at = ? WHERE id = ? AND status = 'sending'",
               [error[:500], error_code, clock.utcnow(), outbound_id])


def requeue(db: sqlite_utils.Database, outbound_id: int) -> bool:
    """Operator's explicit resend of a failed row (``simpul sms requeue``); never of a blanked one."""
    now = clock.utcnow()
    cursor = db.execute("UPDATE outbound SET status = 'queued', next_attempt_at = ?, updated_at = ?, "
                        "attempts = 0 WHERE id = ? AND status IN ('failed', 'undelivered') AND body != ''",
                        [now, now, outbound_id])
    return cursor.rowcount == 1


def stale_sending(db: sqlite_utils.Database, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    cutoff = _iso((now or clock.now()) - dt.timedelta(seconds=LEASE_SECONDS))
    return list(db.query("SELECT * FROM outbound WHERE status = 'sending' AND last_attempt_at < ?", [cutoff]))


def apply_callback(store: Store, *, provider: str, provider_id: str, status: str, error_code: str | None,
                   outbound_id: int | None = None) -> bool:
    """Apply a provider's delivery report (Twilio's status words); True if a row changed."""
    ours = CALLBACK_STATUS.get(status.strip().lower())
    if ours is None or not (provider_id or outbound_id):
        return False

    def job(db: sqlite_utils.Database) -> bool:
        row = None
        if provider_id:
            row = db.execute("SELECT id, status, provider_status FROM outbound "
                             "WHERE provider = ? AND provider_id = ?", [provider, provider_id]).fetchone()
        if row is None and outbound_id is not None:
            # The StatusCallback URL carries our id: this resolves a row whose
            # sender died after Twilio accepted it but before the ack.
            row = db.execute("SELECT id, status, provider_status FROM outbound "
                             "WHERE id = ? AND provider = ?", [outbound_id, provider]).fetchone()
        if row is None:
            return False
        current = row[1]
        # 'failed' without a provider word is our own "outcome unknown"
        # verdict: any news from Twilio overrides it.
        rank = 1 if current == "failed" and row[2] is None else _RANK.get(current, 0)
        keep = _RANK.get(ours, 0) < rank or ours == current
        new_status = current if keep else ours
        now = clock.utcnow()
        db.execute(
            "UPDATE outbound SET status = ?, provider_status = ?, error_code = coalesce(?, error_code), "
            "provider_id = coalesce(provider_id, ?), sent_at = coalesce(sent_at, ?), updated_at = ?, "
            "body = CASE WHEN ? = 'delivered' THEN '' ELSE body END WHERE id = ?",
            [new_status, status, error_code, provider_id or None, now, now, new_status, row[0]])
        return True

    return store.write(job)
