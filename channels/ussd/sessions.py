"""USSD sessions and unfinished forms in SQLite.

The aggregator's ``text`` is every input so far joined by ``*``, and a user
can type ``*`` too, so the text alone cannot be split reliably. The session
row remembers the last ``text`` answered; the newest input is whatever
follows it. Each advance is a compare-and-set on that ``last_text`` inside
the single writer, so a request the aggregator resends (even concurrently)
moves the session once and every copy gets the same reply.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlite_utils

from channels.ussd.menu import Draft
from channels.ussd.state import State
from gateway import clock
from gateway.store import Store


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    phone: str
    state: str
    last_text: str
    last_reply: str
    done: bool
    updated_at: str


def cutoff(seconds: float, now: dt.datetime | None = None) -> str:
    """The timestamp before which a row is stale."""
    return clock.to_iso((now or clock.now()) - dt.timedelta(seconds=seconds))


def load(db: sqlite_utils.Database, session_id: str) -> SessionRow | None:
    row = db.execute(
        "SELECT session_id, phone, state, last_text, last_reply, done, updated_at "
        "FROM ussd_sessions WHERE session_id = ?", [session_id]).fetchone()
    if row is None:
        return None
    return SessionRow(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6])


def load_draft(db: sqlite_utils.Database, phone: str, since: str) -> Draft | None:
    row = db.execute("SELECT service, fields, position FROM ussd_drafts WHERE phone = ? AND updated_at >= ?",
                     [phone, since]).fetchone()
    if row is None:
        return None
    try:
        values = json.loads(row[1])
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    return Draft(row[0], {str(k): str(v) for k, v in values.items()}, int(row[2]))


def create(store: Store, *, session_id: str, phone: str, service_code: str, text: str, state: State,
           reply: str, language: str | None, session_before: str, draft_before: str) -> str:
    """Start a session; return the reply to send (a concurrent twin's if it won)."""

    def job(db: sqlite_utils.Database) -> str:
        # Purge what has timed out: sessions and drafts hold personal data.
        db.execute("DELETE FROM ussd_sessions WHERE updated_at < ?", [session_before])
        db.execute("DELETE FROM ussd_drafts WHERE updated_at < ?", [draft_before])
        now = clock.utcnow()
        cursor = db.execute(
            "INSERT INTO ussd_sessions (session_id, phone, service_code, state, last_text, last_reply, done, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO NOTHING",
            [session_id, phone, service_code, _stored_state(state), text, reply, int(state.ended), now, now])
        if cursor.rowcount == 0:
            return db.execute("SELECT last_reply FROM ussd_sessions WHERE session_id = ?",
                              [session_id]).fetchone()[0]
        _side_effects(db, phone, state, now, drop_draft=False, language=language)
        return reply

    return store.write(job)


def advance(store: Store, *, session: SessionRow, text: str, state: State, reply: str,
            drop_draft: bool, language: str | None) -> str:
    """Move the session on from ``session.last_text`` to ``text``; return the reply to send.

    When another copy of this request already moved it, nothing changes and
    the reply that copy stored is returned.
    """

    def job(db: sqlite_utils.Database) -> str:
        now = clock.utcnow()
        cursor = db.execute(
            "UPDATE ussd_sessions SET state = ?, last_text = ?, last_reply = ?, done = ?, updated_at = ? "
            "WHERE session_id = ? AND last_text = ? AND done = 0",
            [_stored_state(state), text, reply, int(state.ended), now, session.session_id, session.last_text])
        if cursor.rowcount == 0:
            return db.execute("SELECT last_reply FROM ussd_sessions WHERE session_id = ?",
                              [session.session_id]).fetchone()[0]
        _side_effects(db, session.phone, state, now, drop_draft=drop_draft, language=language)
        return reply

    return store.write(job)


def _side_effects(db: sqlite_utils.Database, phone: str, state: State, now: str, *, drop_draft: bool,
                  language: str | None) -> None:
    """Keep the draft in step with the form, and store a chosen language (core ``contacts``)."""
    if drop_draft:
        delete_draft(db, phone)
    elif state.in_form and state.values:
        save_draft(db, phone, state, now)
    if language:
        db.execute(
            "INSERT INTO contacts (phone, locale, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(phone) DO UPDATE SET locale = excluded.locale, updated_at = excluded.updated_at",
            [phone, language, now])


def _stored_state(state: State) -> str:
    """An ended session keeps no form values (personal data); only its last reply."""
    if state.ended:
        return State(locale=state.locale, screen=state.screen, result=state.result).to_json()
    return state.to_json()


def save_draft(db: sqlite_utils.Database, phone: str, state: State, now: str) -> None:
    db.execute(
        "INSERT INTO ussd_drafts (phone, service, fields, position, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(phone) DO UPDATE SET service = excluded.service, fields = excluded.fields, "
        "position = excluded.position, updated_at = excluded.updated_at",
        [phone, state.service, json.dumps(state.values, ensure_ascii=False), state.index, now])


def delete_draft(db: sqlite_utils.Database, phone: str) -> None:
    db.execute("DELETE FROM ussd_drafts WHERE phone = ?", [phone])
