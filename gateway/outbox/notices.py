"""The SMS a citizen gets when their case changes, and the rule for when it is sent.

Every status change, whoever made it (kiosk, ``simpul set-status``, the
regional server, a job), goes through ``cases.change_status``, which calls
:meth:`Notifier.notify` in the same write job: the text is queued in the
outbox durably with the event (``key=status:<event id>``: never twice).

The text is in the citizen's language, names the service by its catalog
name and gives the tracking code. Without a note it fits one GSM-7 segment
(a catalog name too long for that falls back to the service code). A reason
or a note for the citizen goes in whole: the whole text may take at most
``MAX_PARTS`` segments, which is checked where the note is typed
(:func:`check_note`), never cut here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from gateway.cases import contacts
from gateway.errors import NoteTooLong
from gateway.i18n import LOCALES, N_, gettext
from gateway.intake.catalog import Catalog
from gateway.outbox import queue, segments

MAX_PARTS = 3
STATUS_SMS = {
    "received": N_("Request %(service)s %(code)s: received."),
    "in_progress": N_("Request %(service)s %(code)s: being processed."),
    "ready": N_("Request %(service)s %(code)s: ready for pickup at the village office."),
    "rejected": N_("Request %(service)s %(code)s: rejected. Please ask at the village office."),
    "closed": N_("Request %(service)s %(code)s: completed."),
}
REJECTED_WITH_REASON = N_("Request %(service)s %(code)s: rejected.")
REASON_SMS = N_("Reason: %(note)s")
NOTE_SMS = N_("Note: %(note)s")


def clean_note(note: str | None) -> str | None:
    """A note as it is sent: runs of white space become one space (SMS have no layout)."""
    text = " ".join((note or "").split())
    return text or None


def status_sms(status: str, service: str, code: str, locale: str, note: str | None = None) -> str:
    """The notification text for one event; ``note`` is for the citizen (a rejection's reason), in full."""
    note = clean_note(note)
    if status == "rejected" and note:
        return " ".join((gettext(locale, REJECTED_WITH_REASON, service=service, code=code),
                         gettext(locale, REASON_SMS, note=note)))
    text = gettext(locale, STATUS_SMS.get(status, STATUS_SMS["in_progress"]), service=service, code=code)
    if note:
        text += " " + gettext(locale, NOTE_SMS, note=note)
    return text


def service_name(catalog: Catalog, service: str, code: str, status: str, locale: str) -> str:
    """The catalog name, unless it would push the bare status text past one segment."""
    found = catalog.service(service)
    name = found.text("name", locale) if found else service
    return name if segments.fits(status_sms(status, name, code, locale)) else service


def text_for(catalog: Catalog, request: dict[str, Any], status: str, locale: str, note: str | None) -> str:
    code = request["tracking_code"]
    return status_sms(status, service_name(catalog, request["service"], code, status, locale), code, locale, note)


def worst_count(catalog: Catalog, request: dict[str, Any], status: str, note: str | None) -> segments.Segments:
    """The most segments the text takes in any shipped locale (the typist may not know the citizen's)."""
    counts = [segments.count(text_for(catalog, request, status, loc, note)) for loc in LOCALES]
    return max(counts, key=lambda c: (c.parts, c.units))


def check_note(catalog: Catalog, request: dict[str, Any], status: str, note: str | None) -> segments.Segments:
    """Raise NoteTooLong when the SMS with ``note`` would exceed ``MAX_PARTS``; else its count."""
    counted = worst_count(catalog, request, status, note)
    if note and counted.parts > MAX_PARTS:
        raise NoteTooLong(counted.parts, MAX_PARTS)
    return counted


@dataclass
class Notifier:
    """What ``change_status`` needs to tell the citizen: the catalog and the node's language."""

    catalog: Catalog
    default_locale: str

    def locale_for(self, db: sqlite_utils.Database, request: dict[str, Any]) -> str:
        return contacts.locale_of(db, request.get("phone")) or request.get("locale") or self.default_locale

    def notify(self, db: sqlite_utils.Database, request: dict[str, Any], event: dict[str, Any],
               previous: str) -> bool:
        """Queue the SMS for ``event`` if the rule says so; True when a row was added.

        Told: a status change, or a note marked for the citizen. Not told:
        no phone (kiosk walk-ins without a number), an internal note alone,
        and ``closed`` made on the node (the hand-over at the counter: the
        citizen is there, and SMS cost their pulsa).
        """
        phone = request.get("phone") or ""
        note = None if event.get("internal") else event.get("note")
        if not phone.startswith("+"):
            return False
        if event["status"] == previous and not note:
            return False
        if event["status"] == "closed" and event.get("origin", "node") == "node":
            return False
        locale = self.locale_for(db, request)
        body = text_for(self.catalog, request, event["status"], locale, note)
        return queue.enqueue(db, to=phone, body=body, key=f"status:{event['id']}", kind="status",
                             request_id=request["id"], locale=locale, segments=segments.parts(body))
