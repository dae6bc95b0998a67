"""The SMS a citizen gets when the regional server moves their case (pure rendering).

One short message per status change, in the citizen's language, fitting one
GSM-7 segment: the service code and tracking code identify the case without
any personal data in the text.
"""

from __future__ import annotations

from gateway.i18n import N_, gettext

STATUS_SMS = {
    "received": N_("Request %(service)s %(code)s: received."),
    "in_progress": N_("Request %(service)s %(code)s: being processed."),
    "ready": N_("Request %(service)s %(code)s: ready for pickup at the village office."),
    "rejected": N_("Request %(service)s %(code)s: rejected. Please ask at the village office."),
    "closed": N_("Request %(service)s %(code)s: completed."),
}
NOTE_SMS = N_("Note: %(note)s")
SMS_LIMIT = 160


def status_sms(status: str, service: str, code: str, locale: str, note: str | None = None) -> str:
    """The notification text; a case worker's note is appended while it still fits one SMS."""
    text = gettext(locale, STATUS_SMS.get(status, STATUS_SMS["in_progress"]), service=service, code=code)
    if note:
        extra = " " + gettext(locale, NOTE_SMS, note=" ".join(note.split()))
        if len(text) + len(extra) <= SMS_LIMIT:
            text += extra
    return text
