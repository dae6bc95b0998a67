"""The one submission pipeline: the only code that writes requests.

A channel turns its wire format into a :class:`Submission`; the pipeline
validates it against the catalog, stores it durably (group commit, fsync
before the caller is released) and returns a :class:`Receipt` the channel
renders. Submitting the same (channel, channel_message_id) twice returns the
first receipt and stores nothing: the claim is an ``ON CONFLICT DO NOTHING``
on a unique index inside the write transaction, never check-then-insert.

The per-phone limit lives here too, so it is one rule for every
self-service channel (SMS, USSD, the portal): at most
``intake.max_per_phone_per_hour`` new requests per phone in any hour,
counted inside the same write transaction (25 sessions in 0.3 s cannot slip
past it). Over the limit nothing is stored and ``on_commit`` (the receipt
SMS) never runs; the receipt says ``limited`` and carries the polite
:data:`LIMITED` text. An officer's entry (kiosk) and the operator's CLI are
``assisted`` and never limited: an office phone often submits for many.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from gateway import clock
from gateway.cases import contacts
from gateway.i18n import LOCALES, N_, Message, pick_locale
from gateway.intake import codes, validators
from gateway.intake.catalog import Catalog, FieldProblem, Service
from gateway.privacy import audit
from gateway.privacy.vault import Vault
from gateway.storage.store import Store

OnCommit = Callable[[sqlite_utils.Database, dict[str, Any]], None]
MAX_CODE_DRAWS = 8
ASSISTED_CHANNEL = "cli"  # the core's own command line (gateway/cli.py)
LIMITED = N_("Too many requests from this number in the last hour. Please try again later.")


@dataclass(frozen=True)
class Submission:
    channel: str  # "sms", "ussd", "kiosk", "web", "cli", ...
    service: str  # service code or any keyword
    values: Mapping[str, str]
    sender: str | None = None  # the citizen's phone as the channel saw it
    locale: str | None = None
    channel_message_id: str | None = None  # provider id for dedupe (MessageSid, ...)
    officer: str | None = None
    assisted: bool = False  # entered for the citizen (CLI): not subject to the per-phone limit


@dataclass
class Receipt:
    ok: bool
    locale: str
    service: Service | None = None
    problems: list[FieldProblem] = field(default_factory=list)
    request: dict[str, Any] | None = None
    duplicate: bool = False
    limited: bool = False  # over intake.max_per_phone_per_hour: nothing stored

    @property
    def limit_text(self) -> str:
        return Message(LIMITED).render(self.locale)

    @property
    def tracking_code(self) -> str | None:
        return self.request["tracking_code"] if self.request else None

    def render_problems(self, locale: str | None = None) -> list[str]:
        return [p.render(locale or self.locale) for p in self.problems]


class Pipeline:
    def __init__(self, store: Store, catalog: Catalog, vault: Vault, *, default_locale: str = "id",
                 code_source: Callable[[], str] = codes.generate, max_per_phone_per_hour: int = 0):
        self.store = store
        self.max_per_phone_per_hour = max_per_phone_per_hour  # 0: no limit
        self.vault = vault
        self.catalog = catalog  # replaced as a whole when a new catalog arrives
        self.default_locale = default_locale
        self.code_source = code_source

    def locale_for(self, phone: str | None) -> str:
        """The citizen's stored language, else the node default."""
        return contacts.locale_of(self.store.read(), phone) or self.default_locale

    def validate(self, sub: Submission) -> tuple[Receipt, dict[str, Any], str | None]:
        catalog = self.catalog
        service = catalog.by_keyword(sub.service)
        phone: str | None = None
        problems: list[FieldProblem] = []
        if sub.sender:
            try:
                phone = validators.phone(sub.sender)
            except validators.Invalid as exc:
                problems.append(FieldProblem("phone", exc.message))
        # The stored language is read only when the channel did not say (one
        # read less per webhook request: SMS looks it up itself, once).
        if sub.locale in LOCALES:
            locale = sub.locale
        else:
            locale = pick_locale(sub.locale, self.locale_for(phone))
        receipt = Receipt(ok=False, locale=locale, service=service)
        if service is None:
            problems.append(FieldProblem("service", Message("unknown service")))
            receipt.problems = problems
            return receipt, {}, phone
        clean, field_problems = catalog.validate(service, dict(sub.values), locale)
        receipt.problems = problems + field_problems
        return receipt, clean, phone

    def submit(self, sub: Submission, on_commit: OnCommit | None = None) -> Receipt:
        """Validate and store; ``on_commit(db, row)`` runs in the same transaction for a new request."""
        receipt, clean, phone = self.validate(sub)
        if receipt.problems:
            return receipt
        assert receipt.service is not None
        now = clock.utcnow()
        request_id = str(uuid.uuid4())
        # Personal values are sealed here, before the write: they never reach
        # the database (or its WAL) in clear.
        plain, personal = receipt.service.split_personal(clean)
        sealed, sealed_regional = self.vault.seal(request_id, personal)
        row = {
            "id": request_id,
            "service": receipt.service.code,
            "channel": sub.channel,
            "channel_message_id": sub.channel_message_id,
            "phone": phone,
            "locale": receipt.locale,
            "fields": json.dumps(plain, ensure_ascii=False, sort_keys=True),
            "sealed": sealed,
            "sealed_regional": sealed_regional,
            "status": "received",
            "officer": sub.officer,
            "created_at": now,
            "updated_at": now,
        }
        limit = 0 if sub.officer or sub.assisted or not phone else self.max_per_phone_per_hour
        stored, created = self.store.write(lambda db: self._insert(db, row, clean, on_commit, limit))
        if stored is None:
            receipt.limited = True
            receipt.problems = [FieldProblem("phone", Message(LIMITED))]
            return receipt
        receipt.ok = True
        receipt.request = stored
        receipt.duplicate = not created
        return receipt

    def _insert(self, db: sqlite_utils.Database, row: dict[str, Any], clean: dict[str, Any],
                on_commit: OnCommit | None, limit: int = 0) -> tuple[dict[str, Any] | None, bool]:
        # The claim is the INSERT itself: the unique (channel, channel_message_id)
        # index decides, never a look-up before it.
        if limit and self._over_limit(db, row, limit):
            return None, False
        columns = ", ".join(list(row) + ["tracking_code"])
        marks = ", ".join("?" for _ in range(len(row) + 1))
        for _ in range(MAX_CODE_DRAWS):
            code = self.code_source()
            try:
                cursor = db.execute(
                    f"INSERT INTO requests ({columns}) VALUES ({marks}) "
                    "ON CONFLICT (channel, channel_message_id) DO NOTHING",
                    [*row.values(), code],
                )
            except sqlite3.IntegrityError as exc:
                if "tracking_code" not in str(exc):
                    raise
                db.execute("INSERT INTO code_clashes (code, at) VALUES (?, ?)", [code, row["created_at"]])
                continue
            break
        else:
            raise RuntimeError("could not draw an unused tracking code")
        if cursor.rowcount == 0:  # this message id was claimed before
            existing = db.execute(
                "SELECT * FROM requests WHERE channel = ? AND channel_message_id = ?",
                [row["channel"], row["channel_message_id"]],
            ).fetchone()
            return self._as_dict(db, existing), False
        db.execute(
            "INSERT INTO status_events (id, request_id, status, actor, at, origin) "
            "VALUES (?, ?, 'received', ?, ?, 'node')",
            [str(uuid.uuid4()), row["id"], row["officer"] or row["channel"], row["created_at"]],
        )
        if row["officer"]:
            audit.append(db, actor=row["officer"], action=audit.SUBMIT, subject=row["id"],
                         details={"channel": row["channel"], "service": row["service"]})
        # The caller's copy (memory only) keeps every value, for its reply.
        stored = dict(row, tracking_code=code, synced=False)
        stored["fields"] = dict(clean)
        if on_commit is not None:
            on_commit(db, stored)
        return stored, True

    @classmethod
    def _over_limit(cls, db: sqlite_utils.Database, row: dict[str, Any], limit: int) -> bool:
        """Whether this phone already has ``limit`` self-service requests in the last hour.

        A redelivery of a stored message is never "over": it gets its first receipt.
        """
        if row["channel_message_id"] is not None and db.execute(
                "SELECT 1 FROM requests WHERE channel = ? AND channel_message_id = ?",
                [row["channel"], row["channel_message_id"]]).fetchone():
            return False
        since = clock.to_iso(clock.parse(row["created_at"]) - dt.timedelta(hours=1))
        # Assisted entries (an officer's, the core's own CLI) never eat the citizen's allowance.
        (count,) = db.execute("SELECT count(*) FROM requests WHERE phone = ? AND created_at > ? AND officer IS NULL "
                              "AND channel != ?", [row["phone"], since, ASSISTED_CHANNEL]).fetchone()
        return count >= limit

    @staticmethod
    def _as_dict(db: sqlite_utils.Database, values: tuple) -> dict[str, Any]:
        names = [c.name for c in db["requests"].columns]
        stored = dict(zip(names, values, strict=True))
        stored["fields"] = json.loads(stored["fields"])
        stored["synced"] = bool(stored["synced"])
        return stored
