"""The inbox's operations for its callers (SMS channel, kiosk, CLI): seal, write, audit.

Sealing happens before the write job (a new seal epoch is a write of its own);
everything a single action changes - the answer, its SMS in the outbox, the
questions it closes, the audit entry - is one write job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.errors import SimpulError
from gateway.inbox import threads
from gateway.outbox import queue as outbox
from gateway.outbox import segments
from gateway.privacy import audit
from gateway.privacy.vault import RequestOpener

MAX_QUESTION = 1600  # characters kept of one question (ten concatenated SMS)
MAX_ANSWER_PARTS = 3  # an answer is at most this many SMS segments (as a note for the citizen)


class UnknownMessage(SimpulError):
    """No question with this id (or it was purged)."""


class AnswerError(SimpulError):
    """An empty answer, or one longer than ``MAX_ANSWER_PARTS`` segments."""

    def __init__(self, segments_needed: int):
        super().__init__("empty answer" if not segments_needed else
                         f"the SMS would take {segments_needed} segments (at most {MAX_ANSWER_PARTS})")
        self.segments = segments_needed
        self.limit = MAX_ANSWER_PARTS


@dataclass(frozen=True)
class Prepared:
    """A question's text sealed under a fresh record id, ready for ``threads.receive`` in a write job."""

    uid: str
    sealed: bytes | None


def prepare(node: Any, text: str) -> Prepared:
    uid = threads.new_uid()
    return Prepared(uid, threads.seal_text(node.vault, uid, text.strip()[:MAX_QUESTION]))


def check_answer(text: str) -> segments.Segments:
    """The answer's segment count; AnswerError when empty or too long."""
    counted = segments.count(text.strip())
    if not text.strip() or counted.parts > MAX_ANSWER_PARTS:
        raise AnswerError(counted.parts if text.strip() else 0)
    return counted


def question(node: Any, message_id: int) -> dict[str, Any]:
    row = threads.get(node.store.read(), message_id)
    if row is None or row["direction"] != "in":
        raise UnknownMessage(str(message_id))
    return row


def answer(node: Any, message_id: int, text: str, *, officer: str, uid: str | None = None) -> int:
    """Queue ``text`` as an SMS to the phone of question ``message_id`` and close its thread.

    Returns the answer's id. ``uid`` (a form's one-time id) makes a resent
    form queue nothing twice. Raises UnknownMessage, AnswerError.
    """
    row = question(node, message_id)
    check_answer(text)
    text = text.strip()
    uid = uid or threads.new_uid()
    existing = node.store.read().execute("SELECT id FROM inbox WHERE uid = ?", [uid]).fetchone()
    if existing:
        return int(existing[0])
    sealed = threads.seal_text(node.vault, uid, text)
    phone, locale = row["phone"], node.pipeline.locale_for(row["phone"])
    key = f"inbox:{uid}"

    def job(db):  # noqa: ANN001, ANN202 - sqlite_utils.Database
        outbox.enqueue(db, to=phone, body=text, key=key, kind="answer", locale=locale)
        answer_id = threads.add_answer(db, uid=uid, phone=phone, sealed=sealed, officer=officer, outbound_key=key)
        threads.handle(db, phone, officer)
        audit.append(db, actor=officer, action=audit.INBOX_ANSWERED, subject=f"inbox:{answer_id}", details={})
        return answer_id

    return node.store.write(job)


def mark_handled(node: Any, message_id: int, *, officer: str) -> int:
    """Close the thread of question ``message_id`` without an answer; how many questions it closed."""
    row = question(node, message_id)

    def job(db):  # noqa: ANN001, ANN202 - sqlite_utils.Database
        closed = threads.handle(db, row["phone"], officer)
        if closed:
            audit.append(db, actor=officer, action=audit.INBOX_HANDLED, subject=f"inbox:{message_id}",
                         details={"closed": closed})
        return closed

    return node.store.write(job)


def read_thread(node: Any, message_id: int, opener: RequestOpener | None, *, actor: str,
                via: str = audit.VIA_INBOX_THREAD) -> tuple[str, list[dict[str, Any]]]:
    """(phone, messages with ``text``) of the thread holding ``message_id``.

    Opening the texts with a key-holder's ``opener`` is a look-up of personal
    data: audited (who, where; the message id, never the phone or a text).
    """
    row = threads.get(node.store.read(), message_id)
    if row is None:
        raise UnknownMessage(str(message_id))
    messages = threads.thread(node.store.read(), row["phone"])
    for message in messages:
        message["text"] = threads.opened_text(opener, message)
    if opener is not None:
        node.store.write(lambda db: audit.record_access(db, actor=actor, via=via, subject=f"inbox:{message_id}"))
    return row["phone"], messages


def listed(node: Any, opener: RequestOpener | None, *, actor: str, open_only: bool = False) -> list[dict[str, Any]]:
    """Questions for ``simpul inbox``: ``id``, ``phone``, ``received_at``, ``text`` (masked without keys), ``handled``."""
    rows = threads.questions(node.store.read(), open_only=open_only)
    out = [{"id": r["id"], "phone": r["phone"], "received_at": r["at"], "text": threads.opened_text(opener, r),
            "handled": r["handled_at"] is not None} for r in rows]
    if opener is not None and rows:
        node.store.write(lambda db: audit.record_access(db, actor=actor, via=audit.VIA_INBOX_CLI))
    return out
