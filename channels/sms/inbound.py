"""Handle one inbound SMS, whichever provider carried it: parse, act, reply once.

Every inbound message is logged in ``sms_inbound`` under its provider id
(Twilio ``MessageSid``, Gammu inbox file name). The log row is *claimed* with
``INSERT ... ON CONFLICT DO NOTHING`` inside a write job, so a redelivered
message - sequential or concurrent - gets the reply stored for the first copy
and changes nothing. Submissions are claimed by the pipeline itself (unique
``(channel, channel_message_id)``); their log row is written by ``on_commit``
in the same transaction as the request.

The reply-storm guard lives here too. It limits HELP, INFO and error replies
(``GUARDED``) only: while the number got fewer than
``sms.max_auto_replies_per_hour`` of those in the last hour they are sent; the
next one says once that replies are paused; later ones are withheld. The
message itself is always processed and stored, and a stored submission
always gets its receipt with the tracking code. A reply sent inline (Twilio's
TwiML answer) is recorded in the outbox as sent, so ``simpul outbox`` lists
every SMS the node sent, with its ``kind``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from channels.sms import grammar, replies
from gateway import clock
from gateway.cases import contacts
from gateway.cases import records as cases
from gateway.inbox import actions as inbox
from gateway.inbox import threads
from gateway.intake import codes, validators
from gateway.intake.pipeline import Submission
from gateway.node import Node
from gateway.outbox import queue as outbound

# Replies the storm guard may hold back: answers to HELP, INFO and mistakes.
GUARDED = ("help", "info", "unknown", "format", "rejected")


@dataclass(frozen=True)
class InboundSms:
    provider: str  # "twilio" or "gammu"
    message_id: str  # MessageSid or inbox file name: the dedupe key
    sender: str
    body: str


@dataclass(frozen=True)
class Outcome:
    reply: str | None  # None: nothing to send (storm guard)
    kind: str
    duplicate: bool = False
    tracking_code: str | None = None


def normalize_sender(sender: str) -> str:
    """E.164 when it is a phone number; else the raw sender (short codes, names)."""
    try:
        return validators.phone(sender)
    except validators.Invalid:
        return sender.strip()


def _local_date(iso: str, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except Exception:  # noqa: BLE001 - a bad zone name must not break replies
        zone = dt.UTC
    return clock.parse(iso).astimezone(zone).strftime("%d-%m-%Y")


class Handler:
    """Binds the node and the SMS settings; ``handle`` is safe to call concurrently."""

    def __init__(self, node: Node):
        self.node = node
        self.config = node.config

    @property
    def max_replies(self) -> int:
        return int(self.config["sms.max_auto_replies_per_hour"])

    def logged(self, message_id: str) -> dict[str, Any] | None:
        row = self.node.store.read().execute(
            "SELECT kind, reply, replied, request_id FROM sms_inbound WHERE message_id = ?", [message_id]
        ).fetchone()
        if row is None:
            return None
        return {"kind": row[0], "reply": row[1], "replied": bool(row[2]), "request_id": row[3]}

    def seen_file(self, name: str) -> bool:
        """Whether a Gammu inbox file of this name was processed (its ids are ``<name>:<hash>``)."""
        row = self.node.store.read().execute(
            "SELECT 1 FROM sms_inbound WHERE message_id >= ? AND message_id < ? LIMIT 1", [name + ":", name + ";"]
        ).fetchone()
        return row is not None

    def handle(self, sms: InboundSms, *, queue_reply: bool = False) -> Outcome:
        """Process once; ``queue_reply`` puts the reply in the outbound queue (Gammu)."""
        # No "seen before?" read here: the claim below (and the pipeline's own
        # claim for submissions) answers a redelivery with the stored reply.
        phone = normalize_sender(sms.sender)
        locale = self.node.pipeline.locale_for(phone)
        catalog = self.node.catalog
        command = grammar.parse(sms.body, catalog)
        if isinstance(command, grammar.Submit):
            return self._submit(sms, phone, locale, command, queue_reply)
        new_locale: str | None = None
        if isinstance(command, grammar.Status):
            kind, reply = "status", self._status_reply(command.code, phone, locale)
        elif isinstance(command, grammar.Info):
            kind = "info"
            reply = (replies.info(command.service, locale) if command.service
                     else replies.info_usage(catalog, command.suggestion, locale))
        elif isinstance(command, grammar.Language):
            kind = "language"
            if command.locale:
                new_locale = command.locale
                reply = replies.language_set(new_locale)
            else:
                reply = replies.language_usage(locale)
        elif isinstance(command, grammar.Ask) and command.text and phone.startswith("+"):
            return self._ask(sms, phone, locale, "question", command.text, "question",
                             replies.question_received(locale), None, queue_reply)
        elif isinstance(command, grammar.Ask):
            kind, reply = "format", replies.ask_usage(locale)
        elif isinstance(command, grammar.FormatHint) and command.question and phone.startswith("+"):
            hint = replies.format_hint(command.service, locale)
            return self._ask(sms, phone, locale, "sentence", command.question, "format",
                             replies.sentence_received(command.service, locale), hint, queue_reply)
        elif isinstance(command, grammar.FormatHint):
            kind, reply = "format", replies.format_hint(command.service, locale)
        elif isinstance(command, grammar.Unknown) and command.suggestion:
            kind, reply = "unknown", replies.did_you_mean(catalog, command.suggestion, command.service, locale)
        elif isinstance(command, grammar.Unknown) and command.question and phone.startswith("+"):
            return self._ask(sms, phone, locale, "unmatched", command.question, "help",
                             replies.unmatched_received(catalog, locale), replies.help_text(catalog, locale),
                             queue_reply)
        else:
            kind, reply = "help", replies.help_text(catalog, locale)
        row = self.node.store.write(lambda db: self._record(
            db, sms, phone, kind, reply, None, queue_reply, contact_locale=new_locale, locale=locale))
        return self._outcome(row, kind)

    # -- submissions -------------------------------------------------------

    def _submit(self, sms: InboundSms, phone: str, locale: str, command: grammar.Submit,
                queue_reply: bool) -> Outcome:
        recorded: list[dict[str, Any]] = []

        def on_commit(db: sqlite_utils.Database, request: dict[str, Any]) -> None:
            reply = replies.submitted(command.service, request["tracking_code"], request["locale"])
            recorded.append(self._record(db, sms, phone, "submit", reply, request["id"], queue_reply,
                                         locale=request["locale"]))

        receipt = self.node.pipeline.submit(
            Submission(channel="sms", service=command.service.code, values=command.values,
                       sender=sms.sender, locale=locale, channel_message_id=sms.message_id),
            on_commit=on_commit,
        )
        if receipt.ok and recorded:
            return self._outcome(recorded[0], "submit", receipt.tracking_code)
        if receipt.ok:  # a concurrent copy stored it first: answer as it did
            seen = self.logged(sms.message_id)
            if seen is not None:
                return self._replayed(seen)
            reply = replies.submitted(command.service, receipt.tracking_code or "", receipt.locale)
            kind = "submit"
        elif receipt.limited:  # over intake.max_per_phone_per_hour: nothing stored, told politely
            reply, kind = receipt.limit_text, "limited"
        else:
            reply = replies.rejected(command.service, receipt.problems, receipt.locale)
            kind = "rejected"
        row = self.node.store.write(lambda db: self._record(
            db, sms, phone, kind, reply, receipt.request["id"] if receipt.request else None, queue_reply,
            locale=receipt.locale))
        return self._outcome(row, kind, receipt.tracking_code)

    # -- questions for the inbox ------------------------------------------------

    def _ask(self, sms: InboundSms, phone: str, locale: str, inbox_kind: str, text: str, kind: str,
             acknowledged: str | None, plain: str | None, queue_reply: bool) -> Outcome:
        """File ``text`` in the core's inbox and reply in the same write job.

        ``acknowledged`` (the reply carrying "question received") is sent when
        this phone got no acknowledgement in the last hour, else ``plain``
        (None: no reply at all). Only a number (E.164) is filed: operator
        notices from short codes never reach the inbox.
        """
        prepared = inbox.prepare(self.node, text)

        def job(db: sqlite_utils.Database) -> dict[str, Any]:
            filed = threads.receive(db, uid=prepared.uid, phone=phone, kind=inbox_kind, message_id=sms.message_id,
                                    sealed=prepared.sealed)
            ack = filed is not None and acknowledged is not None and threads.ack_due(db, phone)
            row = self._record(db, sms, phone, kind, acknowledged if ack else plain, None, queue_reply,
                               locale=locale)
            if ack and row["replied"] and not row["duplicate"]:
                threads.mark_acked(db, filed)
            return row

        return self._outcome(self.node.store.write(job), kind)

    # -- status ------------------------------------------------------------

    def _status_reply(self, typed: str, phone: str, locale: str) -> str:
        if not typed:
            return replies.status_usage(locale)
        try:
            request = cases.get_by_code(self.node.store.read(), typed)
        except codes.BadCheck:
            return replies.status_check_code(locale)
        except codes.CodeError:
            return replies.status_usage(locale)
        code = codes.normalize(typed)
        if request is None or request["phone"] != phone:
            return replies.status_not_found(code, locale)
        service = self.node.catalog.service(request["service"])
        name = service.text("name", locale) if service else request["service"]
        reason = cases.citizen_note(self.node.store.read(), request["id"], request["status"])
        return replies.status(code, name, cases.status_label(request["status"], locale),
                              _local_date(request["updated_at"], self.config["node.timezone"]), locale,
                              service_code=request["service"], reason=reason)

    # -- the claim ---------------------------------------------------------

    def _record(self, db: sqlite_utils.Database, sms: InboundSms, phone: str, kind: str, reply: str | None,
                request_id: str | None, queue_reply: bool, *, contact_locale: str | None = None,
                locale: str | None = None) -> dict[str, Any]:
        """Claim the message id, apply the storm guard, queue or log the reply; runs in a write job.

        ``reply`` None: nothing to send (a question acknowledged less than an hour ago).
        """
        now = clock.utcnow()
        replied = reply is not None
        if replied and kind in GUARDED:
            # Count first, then claim with the verdict: the writer is single, so
            # nothing can slip in between, and the claim stays one statement.
            since = clock.to_iso(clock.now() - dt.timedelta(hours=1))
            (sent,) = db.execute(
                "SELECT count(*) FROM sms_inbound WHERE phone = ? AND replied = 1 AND received_at > ? "
                f"AND kind IN ({', '.join('?' * len(GUARDED))})", [phone, since, *GUARDED],
            ).fetchone()
            if sent == self.max_replies:
                reply = replies.replies_paused(locale or self.node.pipeline.default_locale)
            replied = sent <= self.max_replies
        cursor = db.execute(
            "INSERT INTO sms_inbound (message_id, provider, phone, kind, request_id, reply, replied, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(message_id) DO NOTHING",
            [sms.message_id, sms.provider, phone, kind, request_id, reply, int(replied), now],
        )
        if cursor.rowcount == 0:
            row = db.execute("SELECT kind, reply, replied, request_id FROM sms_inbound WHERE message_id = ?",
                             [sms.message_id]).fetchone()
            return {"kind": row[0], "reply": row[1], "replied": bool(row[2]), "request_id": row[3],
                    "duplicate": True}
        if replied and reply and phone.startswith("+"):
            if queue_reply:
                outbound.enqueue(db, to=phone, body=reply, key=f"reply:{sms.message_id}", kind="reply",
                                 request_id=request_id, locale=locale)
            else:  # answered inline in the provider's HTTP response: listed in the outbox as sent
                outbound.record_sent(db, to=phone, body=reply, key=f"reply:{sms.message_id}", kind="reply",
                                     provider=sms.provider, request_id=request_id, locale=locale)
        if contact_locale:
            contacts.remember_locale(db, phone, contact_locale, now)
        return {"kind": kind, "reply": reply, "replied": replied, "request_id": request_id, "duplicate": False}

    @staticmethod
    def _replayed(seen: dict[str, Any]) -> Outcome:
        return Outcome(reply=seen["reply"] if seen["replied"] else None, kind=seen["kind"], duplicate=True)

    @staticmethod
    def _outcome(row: dict[str, Any], kind: str, tracking_code: str | None = None) -> Outcome:
        return Outcome(reply=row["reply"] if row["replied"] else None, kind=row["kind"] or kind,
                       duplicate=row.get("duplicate", False), tracking_code=tracking_code)
