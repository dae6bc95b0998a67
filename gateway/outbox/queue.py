"""The outbound SMS queue: every message the node sends starts as a row here.

Enqueue inside the same write job as whatever caused the message (a request
stored, a status event applied), so the two are durable together. A sender
job of the SMS part delivers queued rows through the configured provider
(bookkeeping in ``gateway.outbox.delivery``); with no provider configured
they simply stay queued.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from gateway import clock
from gateway.outbox.segments import count

STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed")


def enqueue(
    db: sqlite_utils.Database,
    *,
    to: str,
    body: str,
    key: str,
    kind: str = "notification",
    request_id: str | None = None,
    locale: str | None = None,
    segments: int | None = None,
) -> bool:
    """Queue one SMS; return False if ``key`` was queued before (nothing added).

    ``key`` is the idempotency key, e.g. ``"status:<event id>"`` or
    ``"ussd-receipt:<request id>"``. ``to`` must be E.164. ``segments`` is
    what the text costs (counted here when not given); ``locale`` is the
    language it was written in, so the kiosk can re-render a blanked body.
    """
    now = clock.utcnow()
    parts = segments if segments is not None else count(body).parts
    cursor = db.execute(
        'INSERT INTO outbound (key, "to", body, kind, request_id, status, next_attempt_at, created_at, updated_at, '
        "locale, segments) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
        [key, to, body, kind, request_id, now, now, now, locale, parts],
    )
    return cursor.rowcount == 1


def record_sent(
    db: sqlite_utils.Database,
    *,
    to: str,
    body: str,
    key: str,
    kind: str,
    provider: str,
    request_id: str | None = None,
    locale: str | None = None,
) -> bool:
    """Log a message a provider already took (an inline webhook reply) as ``sent``.

    It is never sent by the outbox's sender; it is listed, counted and its
    body blanked like every other sent message. No ``last_attempt_at``: it
    does not use the provider's pacing budget for queued messages.
    """
    now = clock.utcnow()
    cursor = db.execute(
        'INSERT INTO outbound (key, "to", body, kind, request_id, status, provider, attempts, next_attempt_at, '
        "created_at, updated_at, sent_at, locale, segments) "
        "VALUES (?, ?, ?, ?, ?, 'sent', ?, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
        [key, to, body, kind, request_id, provider, now, now, now, now, locale, count(body).parts],
    )
    return cursor.rowcount == 1


def list_outbound(db: sqlite_utils.Database, *, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM outbound"
    args: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        args.append(status)
    sql += " ORDER BY id DESC"
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    rows = list(db.query(sql, args))
    for row in rows:  # rows queued before segments were stored are counted now (while the body is kept)
        if row.get("segments") is None and row["body"]:
            row["segments"] = count(row["body"]).parts
    return rows


def purge_request(db: sqlite_utils.Database, request_id: str) -> None:
    """Retention: a purged request's messages keep status and times, lose number and text.

    A message still queued a retention period after closing is stale: it is
    not sent any more. One in flight ('sending') is left to its sender.
    """
    _purge(db, "request_id = ?", [request_id])


def purge_keys(db: sqlite_utils.Database, keys: list[str]) -> None:
    """Retention of messages tied to no request (inbox answers), by their keys; as ``purge_request``."""
    if keys:
        _purge(db, f"key IN ({','.join('?' * len(keys))})", list(keys))


def _purge(db: sqlite_utils.Database, where: str, args: list[Any]) -> None:
    db.execute(f"UPDATE outbound SET status = 'failed', last_error = 'purged by retention' "
               f"WHERE {where} AND status = 'queued'", args)
    db.execute(f"UPDATE outbound SET \"to\" = '', body = '' WHERE {where} AND status != 'sending'", args)


def for_request(db: sqlite_utils.Database, request_id: str) -> list[dict[str, Any]]:
    """Every message queued about one request, oldest first (the kiosk's history)."""
    return list(db.query("SELECT id, key, kind, status, body, locale, segments, created_at, sent_at, updated_at, "
                         "provider, last_error, error_code FROM outbound WHERE request_id = ? ORDER BY id",
                         [request_id]))
