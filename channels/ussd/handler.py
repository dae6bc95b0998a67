"""One USSD request in, one reply out: the I/O edge around the pure menu.

Order of work for a request: find the session row; decide the newest input
(the part of ``text`` after the text last answered; an identical resend gets
the stored reply back); step the pure menu; perform its effect (submit,
status look-up, language) against the node; render; store the new state with
a compare-and-set. Anything unexpected becomes a polite ``END`` screen in
the caller (``channels.ussd.__init__``); a failed durable write of a
submission is reported as *not saved*, never as received.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlite_utils

from channels.ussd import menu, screens, sessions
from channels.ussd.cipher import ProcessCipher
from channels.ussd.errors import BadRequest
from channels.ussd.state import State
from gateway.cases import records as cases
from gateway.config.loader import Config
from gateway.i18n import N_
from gateway.intake import codes, validators
from gateway.intake.pipeline import Submission
from gateway.node import Node
from gateway.outbox import queue as outbound

log = logging.getLogger(__name__)

MAX_SESSION_ID = 200
MAX_TEXT = 8000
NOT_FOUND = N_("No request with this code for your number.")
BAD_CHECK = N_("This code has a typo: check the code.")
MALFORMED = N_("A tracking code has 10 letters and digits, e.g. ABCDE-12345.")


@dataclass(frozen=True)
class UssdRequest:
    session_id: str
    service_code: str
    phone: str
    network_code: str
    text: str
    last_only: bool = False  # the aggregator sends only the newest input, not the whole 1*2*3 path

    @classmethod
    def from_form(cls, form: Any, *, last_only: bool = False) -> UssdRequest:
        """Read the Africa's Talking fields; raise BadRequest when one is missing or absurd."""
        session_id = (form.get("sessionId") or "").strip()
        phone = (form.get("phoneNumber") or "").strip()
        text = form.get("text")
        if not session_id or len(session_id) > MAX_SESSION_ID or not phone or text is None:
            raise BadRequest("missing or invalid sessionId, phoneNumber or text")
        if len(text) > MAX_TEXT:
            raise BadRequest("text too long")
        return cls(session_id, (form.get("serviceCode") or "")[:40], phone,
                   (form.get("networkCode") or "")[:20], text, last_only)


@lru_cache(maxsize=4096)
def normalized_phone(raw: str) -> str:
    """E.164 form of the aggregator's phoneNumber (cached: the same numbers call again and again)."""
    try:
        return validators.phone(raw)
    except validators.Invalid:
        raise BadRequest("phoneNumber is not a phone number") from None


class Handler:
    def __init__(self, node: Node, config: Config):
        self.node = node
        self.timeout = float(config["ussd.session_timeout_seconds"])
        self.resume_seconds = float(config["ussd.resume_minutes"]) * 60
        self.timezone = config["node.timezone"]
        # Sessions and drafts are sealed under a key only this process holds.
        self.cipher = ProcessCipher()

    # -- entry point --------------------------------------------------------

    def handle(self, req: UssdRequest) -> str:
        """The full reply body (``CON …`` / ``END …``)."""
        phone = normalized_phone(req.phone)
        db = self.node.store.read()
        # A session is the aggregator's id *for this phone*: the same id from another
        # phone (a recycled id, or a stranger's guess) is another, fresh session.
        key = sessions.session_key(phone, req.session_id)
        row = sessions.load(db, key, self.cipher)
        if row is None:
            return self._start(db, req, phone, key)
        if not row.readable:
            # Sealed under the key of a previous process run (a restart): it
            # cannot be opened, so it ends exactly like an expired session
            # (the row stays until the timeout purge, so later copies of this
            # session's requests get the same answer, never a type-ahead).
            return self._expired(db, phone, self.node.pipeline.locale_for(phone))
        locale = State.from_json(row.state or "").locale
        if row.updated_at < sessions.cutoff(self.timeout):
            return self._expired(db, phone, locale)
        if row.done:
            return row.last_reply or ""
        if req.last_only:
            # Only the newest input arrives: chain it to the stored text's MAC, so concurrent
            # copies still move the session once (an exact resend cannot be told from a repeat).
            return self._advance(row, f"{row.text_mac}*{req.text}", req.text)
        if sessions.text_mac(self.cipher, row.session_id, req.text) == row.text_mac:
            return row.last_reply or ""  # a resend: same answer, nothing moves
        entry = sessions.newest_entry(self.cipher, row, req.text)
        if entry is None:
            return row.last_reply or ""  # stale or out of order: show the current screen again
        return self._advance(row, req.text, entry)

    def _start(self, db: sqlite_utils.Database, req: UssdRequest, phone: str, key: str) -> str:
        locale = self.node.pipeline.locale_for(phone)
        language = None
        if req.text == "":
            draft = sessions.load_draft(db, phone, sessions.cutoff(self.resume_seconds), self.cipher)
            state = menu.start(locale, draft, self.node.catalog)
        else:
            state, language = self._shortcut(phone, locale, req.text)
        reply = self._reply(state)
        return sessions.create(self.node.store, self.cipher, session_id=key, phone=phone,
                               service_code=req.service_code, text=req.text, state=state, reply=reply,
                               language=language, session_before=sessions.cutoff(self.timeout),
                               draft_before=sessions.cutoff(self.resume_seconds))

    def _shortcut(self, phone: str, locale: str, text: str) -> tuple[State, str | None]:
        """A first request that already carries inputs: the user dialled e.g. ``*123*2#``.

        Africa's Talking passes the extra parts in ``text``. They are menu
        choices typed ahead, so they are applied one by one from the main menu
        (an unfinished form is not offered here; it stays for a plain dial).
        Type-ahead never sends a request: it stops at the confirm screen.
        """
        state, language = menu.main_menu(locale), None
        for entry in text.split("*"):
            step = menu.step(state, entry, self.node.catalog)
            if isinstance(step.effect, menu.Submit):
                break
            state = step.state
            if isinstance(step.effect, menu.Lookup):
                state = self._lookup(phone, state, step.effect.code)
            elif isinstance(step.effect, menu.SetLanguage):
                language = step.effect.locale
            if state.ended:
                break
        return state, language

    def _expired(self, db: sqlite_utils.Database, phone: str, locale: str) -> str:
        draft = sessions.load_draft(db, phone, sessions.cutoff(self.resume_seconds), self.cipher)
        minutes = int(self.resume_seconds // 60) if draft else None
        return "END " + screens.expired(locale, minutes)

    def _reply(self, state: State) -> str:
        kind, text = screens.render(state, self.node.catalog, timezone=self.timezone)
        return f"{kind} {text}"

    # -- a step and its effect ----------------------------------------------

    def _advance(self, row: sessions.SessionRow, text: str, entry: str) -> str:
        catalog = self.node.catalog
        step = menu.step(State.from_json(row.state or ""), entry, catalog)
        state, language, stored = step.state, None, False
        if isinstance(step.effect, menu.Submit):
            state, stored = self._submit(row, state)
        elif isinstance(step.effect, menu.Lookup):
            state = self._lookup(row.phone, state, step.effect.code)
        elif isinstance(step.effect, menu.SetLanguage):
            language = step.effect.locale
        reply = self._reply(state)
        if state.screen == "not_saved":
            return reply  # the store is failing: do not try to record anything more
        try:
            return sessions.advance(self.node.store, self.cipher, session=row, text=text, state=state, reply=reply,
                                    drop_draft=step.drop_draft or stored, language=language)
        except Exception:
            if stored:  # the request itself is durable: its receipt is the truth
                log.exception("ussd: session %s not updated after a stored submission", row.session_id)
                return reply
            raise

    def _submit(self, row: sessions.SessionRow, state: State) -> tuple[State, bool]:
        catalog = self.node.catalog
        service = catalog.service(state.service or "")
        phone, locale = row.phone, state.locale

        def on_commit(db: sqlite_utils.Database, request: dict[str, Any]) -> None:
            # Same transaction as the request: the SMS receipt exists iff the request does.
            body = screens.receipt_sms(locale, service, request["tracking_code"])
            outbound.enqueue(db, to=phone, body=body, key=f"ussd-receipt:{request['id']}",
                             request_id=request["id"])
            sessions.delete_draft(db, phone)

        sub = Submission(channel="ussd", service=state.service or "", values=dict(state.values),
                         sender=phone, locale=locale, channel_message_id=row.claim_id)
        try:
            receipt = self.node.pipeline.submit(sub, on_commit=on_commit)
        except Exception:
            log.exception("ussd: submission for session %s not stored", row.session_id)
            return menu.not_saved(state), False
        if receipt.limited:
            return menu.limited(state), False
        if not receipt.ok or receipt.tracking_code is None:
            return menu.rejected(state, receipt.problems, catalog), False
        return menu.submitted(state, receipt.tracking_code), True

    def _lookup(self, phone: str, state: State, typed: str) -> State:
        try:
            request = cases.get_by_code(self.node.store.read(), typed)
        except codes.BadCheck:
            return menu.status_problem(state, BAD_CHECK)
        except codes.CodeError:
            return menu.status_problem(state, MALFORMED)
        if request is None or request.get("phone") != phone:
            return menu.status_problem(state, NOT_FOUND)  # same answer: nothing leaks
        return menu.status_found(state, {
            "code": request["tracking_code"], "service": request["service"],
            "status": request["status"], "updated_at": request["updated_at"],
        })
