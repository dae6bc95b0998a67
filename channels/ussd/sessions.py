"""USSD sessions and unfinished forms in SQLite, sealed under the process key.

The aggregator's ``text`` is every input so far joined by ``*``, and a user
can type ``*`` too, so the text alone cannot be split reliably. The session
row remembers (a keyed hash of) the last ``text`` answered; the newest input
is whatever follows it. Each advance is a compare-and-set on that hash inside
the single writer, so a request the aggregator resends (even concurrently)
moves the session once and every copy gets the same reply.

What the caller typed is personal data (NIK, name, address): the state, the
last reply and the draft values are sealed with ``channels.ussd.cipher``
(the key lives only in memory), the text is kept only as its HMAC. A row
this process cannot open (written before a restart) loads with
``state = None``; the handler treats it as expired.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlite_utils

from channels.ussd.cipher import ProcessCipher, Unreadable
from channels.ussd.menu import Draft
from channels.ussd.state import State
from gateway import clock
from gateway.cases import contacts
from gateway.storage.store import Store


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    phone: str
    state: str | None  # opened state JSON; None = sealed by another process run (a restart)
    text_mac: str
    last_reply: str | None
    done: bool
    updated_at: str
    created_at: str = ""

    @property
    def claim_id(self) -> str:
        """The submission's dedupe id: this session of this phone, never a recycled id's earlier one."""
        return f"{self.session_id}@{self.created_at}"

    @property
    def readable(self) -> bool:
        return self.state is not None and self.last_reply is not None


def session_key(phone: str, session_id: str) -> str:
    """The stored session id: the aggregator's id bound to the caller's number."""
    return f"{phone}|{session_id}"


def state_aad(session_id: str) -> str:
    return f"ussd_sessions|state|{session_id}"


def reply_aad(session_id: str) -> str:
    return f"ussd_sessions|reply|{session_id}"


def draft_aad(phone: str) -> str:
    return f"ussd_drafts|fields|{phone}"


def text_mac(cipher: ProcessCipher, session_id: str, text: str) -> str:
    return cipher.digest(f"ussd_sessions|text|{session_id}", text)


def newest_entry(cipher: ProcessCipher, row: SessionRow, text: str) -> str | None:
    """The input ``text`` adds after the text last answered; None when it does not extend it."""
    if text_mac(cipher, row.session_id, "") == row.text_mac:
        return text
    at = cipher.find_prefix(f"ussd_sessions|text|{row.session_id}", text, row.text_mac)
    return None if at is None else text[at + 1:]


def cutoff(seconds: float, now: dt.datetime | None = None) -> str:
    """The timestamp before which a row is stale."""
    return clock.to_iso((now or clock.now()) - dt.timedelta(seconds=seconds))


def _open(cipher: ProcessCipher, blob: bytes | None, aad: str) -> str | None:
    try:
        return cipher.open(blob, aad)
    except Unreadable:
        return None


def load(db: sqlite_utils.Database, session_id: str, cipher: ProcessCipher) -> SessionRow | None:
    row = db.execute(
        "SELECT session_id, phone, state_sealed, text_mac, reply_sealed, done, updated_at, created_at "
        "FROM ussd_sessions WHERE session_id = ?", [session_id]).fetchone()
    if row is None:
        return None
    return SessionRow(row[0], row[1], _open(cipher, row[2], state_aad(row[0])), row[3],
                      _open(cipher, row[4], reply_aad(row[0])), bool(row[5]), row[6], row[7])


def load_draft(db: sqlite_utils.Database, phone: str, since: str, cipher: ProcessCipher) -> Draft | None:
    """The caller's unfinished form; None when there is none or it cannot be opened (a restart)."""
    row = db.execute("SELECT service, fields_sealed, position FROM ussd_drafts WHERE phone = ? AND updated_at >= ?",
                     [phone, since]).fetchone()
    if row is None:
        return None
    try:
        values = json.loads(cipher.open(row[1], draft_aad(phone)))
    except (Unreadable, ValueError):
        return None
    if not isinstance(values, dict):
        return None
    return Draft(row[0], {str(k): str(v) for k, v in values.items()}, int(row[2]))


def create(store: Store, cipher: ProcessCipher, *, session_id: str, phone: str, service_code: str, text: str,
           state: State, reply: str, language: str | None, session_before: str, draft_before: str) -> str:
    """Start a session; return the reply to send (a concurrent twin's if it won)."""
    sealed_state = cipher.seal(_stored_state(state), state_aad(session_id))
    sealed_reply = cipher.seal(reply, reply_aad(session_id))
    mac = text_mac(cipher, session_id, text)

    def job(db: sqlite_utils.Database) -> str | None:
        # Purge what has timed out: sessions and drafts hold personal data.
        db.execute("DELETE FROM ussd_sessions WHERE updated_at < ?", [session_before])
        db.execute("DELETE FROM ussd_drafts WHERE updated_at < ?", [draft_before])
        now = clock.utcnow()
        cursor = db.execute(
            "INSERT INTO ussd_sessions (session_id, phone, service_code, state_sealed, text_mac, reply_sealed, "
            "done, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO NOTHING",
            [session_id, phone, service_code, sealed_state, mac, sealed_reply, int(state.ended), now, now])
        if cursor.rowcount == 0:
            return _stored_reply(db, cipher, session_id)
        _side_effects(db, cipher, phone, state, now, drop_draft=False, language=language)
        return reply

    return _or_reply(store.write(job), reply)


def advance(store: Store, cipher: ProcessCipher, *, session: SessionRow, text: str, state: State, reply: str,
            drop_draft: bool, language: str | None) -> str:
    """Move the session on from its stored text to ``text``; return the reply to send.

    When another copy of this request already moved it, nothing changes and
    the reply that copy stored is returned.
    """
    sid = session.session_id
    sealed_state = cipher.seal(_stored_state(state), state_aad(sid))
    sealed_reply = cipher.seal(reply, reply_aad(sid))
    mac = text_mac(cipher, sid, text)

    def job(db: sqlite_utils.Database) -> str | None:
        now = clock.utcnow()
        cursor = db.execute(
            "UPDATE ussd_sessions SET state_sealed = ?, text_mac = ?, reply_sealed = ?, done = ?, updated_at = ? "
            "WHERE session_id = ? AND text_mac = ? AND done = 0",
            [sealed_state, mac, sealed_reply, int(state.ended), now, sid, session.text_mac])
        if cursor.rowcount == 0:
            return _stored_reply(db, cipher, sid)
        _side_effects(db, cipher, session.phone, state, now, drop_draft=drop_draft, language=language)
        return reply

    return _or_reply(store.write(job), reply)


def _stored_reply(db: sqlite_utils.Database, cipher: ProcessCipher, session_id: str) -> str | None:
    row = db.execute("SELECT reply_sealed FROM ussd_sessions WHERE session_id = ?", [session_id]).fetchone()
    return None if row is None else _open(cipher, row[0], reply_aad(session_id))


def _or_reply(stored: str | None, reply: str) -> str:
    # A twin's reply this process cannot open cannot happen within one run;
    # if it ever did, our own (equivalent) reply is the honest answer.
    return stored if stored is not None else reply


def _side_effects(db: sqlite_utils.Database, cipher: ProcessCipher, phone: str, state: State, now: str, *,
                  drop_draft: bool, language: str | None) -> None:
    """Keep the draft in step with the form, and store a chosen language (core ``contacts``)."""
    if drop_draft:
        delete_draft(db, phone)
    elif state.in_form and state.values:
        save_draft(db, cipher, phone, state, now)
    if language:
        contacts.remember_locale(db, phone, language, now)


def _stored_state(state: State) -> str:
    """An ended session keeps no form values (personal data); only its last reply."""
    if state.ended:
        return State(locale=state.locale, screen=state.screen, result=state.result).to_json()
    return state.to_json()


def save_draft(db: sqlite_utils.Database, cipher: ProcessCipher, phone: str, state: State, now: str) -> None:
    sealed = cipher.seal(json.dumps(state.values, ensure_ascii=False), draft_aad(phone))
    db.execute(
        "INSERT INTO ussd_drafts (phone, service, fields_sealed, position, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(phone) DO UPDATE SET service = excluded.service, fields_sealed = excluded.fields_sealed, "
        "position = excluded.position, updated_at = excluded.updated_at",
        [phone, state.service, sealed, state.index, now])


def delete_draft(db: sqlite_utils.Database, phone: str) -> None:
    db.execute("DELETE FROM ussd_drafts WHERE phone = ?", [phone])

