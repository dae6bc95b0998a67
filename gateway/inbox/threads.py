"""The ``inbox`` table: one row per question received or answer written, a thread per phone.

SQL only, run by callers inside their read or write (group-commit) job. A
thread is *open* while one of its questions has no ``handled_at``; an answer
or "mark handled" closes every open question of that phone. Texts are stored
sealed only (``text_sealed``, purpose :data:`PURPOSE`, record id ``uid``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlite_utils

from gateway import clock
from gateway.outbox import queue as outbox
from gateway.privacy import vault as vaults
from gateway.privacy.sealing import SealError
from gateway.privacy.vault import RequestOpener, Vault

PURPOSE = "inbox"
ACK_WINDOW = dt.timedelta(hours=1)  # one "question received" reply per phone per hour
KINDS = ("question", "unmatched", "sentence", "answer")


def new_uid() -> str:
    return str(uuid.uuid4())


def seal_text(node_vault: Vault, uid: str, text: str) -> bytes | None:
    """The node copy of a sealed text (call before the write job: a new seal epoch is a write).

    No regional copy is kept: threads stay on the node.
    """
    node_copy, _regional = node_vault.seal(uid, {"text": text}, purpose=PURPOSE)
    return node_copy


def receive(db: sqlite_utils.Database, *, uid: str, phone: str, kind: str, message_id: str,
            sealed: bytes | None, at: str | None = None) -> int | None:
    """File a question; its id, or None when this SMS (``message_id``) was filed before."""
    cursor = db.execute(
        "INSERT INTO inbox (uid, phone, direction, kind, message_id, text_sealed, at) VALUES (?, ?, 'in', ?, ?, ?, ?) "
        "ON CONFLICT(message_id) DO NOTHING", [uid, phone, kind, message_id, sealed, at or clock.utcnow()])
    return int(cursor.lastrowid) if cursor.rowcount == 1 else None


def ack_due(db: sqlite_utils.Database, phone: str, now: dt.datetime | None = None) -> bool:
    """Whether this phone got no "question received" reply in the last hour."""
    since = clock.to_iso((now or clock.now()) - ACK_WINDOW)
    row = db.execute("SELECT 1 FROM inbox WHERE phone = ? AND acked = 1 AND at > ? LIMIT 1", [phone, since]).fetchone()
    return row is None


def mark_acked(db: sqlite_utils.Database, message_id: int) -> None:
    db.execute("UPDATE inbox SET acked = 1 WHERE id = ?", [message_id])


def get(db: sqlite_utils.Database, message_id: int) -> dict[str, Any] | None:
    return next(iter(db.query("SELECT * FROM inbox WHERE id = ?", [message_id])), None)


def handle(db: sqlite_utils.Database, phone: str, officer: str, *, up_to: int | None = None,
           at: str | None = None) -> int:
    """Close the open questions of ``phone`` (up to id ``up_to``); returns how many."""
    sql = "UPDATE inbox SET handled_at = ?, handled_by = ? WHERE phone = ? AND direction = 'in' AND handled_at IS NULL"
    args: list[Any] = [at or clock.utcnow(), officer, phone]
    if up_to is not None:
        sql += " AND id <= ?"
        args.append(up_to)
    return db.execute(sql, args).rowcount


def add_answer(db: sqlite_utils.Database, *, uid: str, phone: str, sealed: bytes | None, officer: str,
               outbound_key: str, at: str | None = None) -> int:
    """Record an answer (handled when written: it is what closes the thread)."""
    now = at or clock.utcnow()
    cursor = db.execute(
        "INSERT INTO inbox (uid, phone, direction, kind, text_sealed, at, handled_at, handled_by, officer, "
        "outbound_key) VALUES (?, ?, 'out', 'answer', ?, ?, ?, ?, ?, ?)",
        [uid, phone, sealed, now, now, officer, officer, outbound_key])
    return int(cursor.lastrowid)


def questions(db: sqlite_utils.Database, *, open_only: bool = False, limit: int | None = None) -> list[dict]:
    """Questions received, newest first (``simpul inbox``)."""
    sql = "SELECT id, uid, phone, kind, at, handled_at, handled_by, text_sealed FROM inbox WHERE direction = 'in'"
    if open_only:
        sql += " AND handled_at IS NULL"
    sql += " ORDER BY id DESC"
    args: list[Any] = []
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    return list(db.query(sql, args))


def threads(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """One row per phone, the newest activity first: last id and time, how many questions are open."""
    return list(db.query(
        "SELECT phone, max(id) AS last_id, max(at) AS last_at, count(*) AS messages, "
        "sum(direction = 'in' AND handled_at IS NULL) AS open FROM inbox GROUP BY phone ORDER BY max(id) DESC"))


def thread(db: sqlite_utils.Database, phone: str) -> list[dict[str, Any]]:
    """Every message of one phone, oldest first, each answer with its SMS's delivery state."""
    return list(db.query(
        "SELECT i.*, o.status AS sms_status, o.segments AS sms_segments, o.id AS outbound_id "
        'FROM inbox i LEFT JOIN outbound o ON o.key = i.outbound_key WHERE i.phone = ? ORDER BY i.id', [phone]))


def open_threads(db: sqlite_utils.Database) -> int:
    """How many phones wait for an answer (the kiosk menu, the regional fleet view)."""
    return int(db.execute("SELECT count(DISTINCT phone) FROM inbox "
                          "WHERE direction = 'in' AND handled_at IS NULL").fetchone()[0])


def opened_text(opener: RequestOpener | None, row: dict[str, Any]) -> str:
    """A message's text with a session's keys; ``vault.SEALED`` when they do not open it."""
    if row.get("text_sealed") is None:
        return ""
    if opener is None:
        return vaults.SEALED
    try:
        return str(opener.personal(row["uid"], row["text_sealed"], purpose=PURPOSE).get("text", ""))
    except SealError:
        return vaults.SEALED


def purge(db: sqlite_utils.Database, days: int, now: dt.datetime | None = None) -> int:
    """Retention: forget messages handled more than ``days`` ago, and the number and text of
    their answers' SMS in the outbox; returns how many messages."""
    cutoff = clock.to_iso((now or clock.now()) - dt.timedelta(days=days))
    keys = [k for (k,) in db.execute("SELECT outbound_key FROM inbox WHERE handled_at IS NOT NULL AND "
                                     "handled_at <= ? AND outbound_key IS NOT NULL", [cutoff]).fetchall()]
    outbox.purge_keys(db, keys)
    return db.execute("DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at <= ?", [cutoff]).rowcount
