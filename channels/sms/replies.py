"""Reply texts for the SMS channel: pure functions of (command result, locale).

Each reply is sized to fit one SMS segment (GSM-7, 160 characters) with
realistic values; ``INFO`` may use two. ``tests/test_sms_replies.py`` counts
the segments of every reply in every shipped locale. Catalog text an operator
made too long is cut with ``...`` rather than sent as a long multipart SMS.
"""

from __future__ import annotations

from gateway.i18n import Message
from gateway.intake.catalog import Catalog, FieldProblem, Service
from gateway.outbox import segments

INFO_MAX_PARTS = 2

# Labels for problems that are not about a catalog field.
_OTHER_LABELS = {
    "phone": Message("Sender number"),
    "service": Message("Service"),
}


def _fit(text: str, max_parts: int = 1) -> str:
    return segments.truncate(text, max_parts)


def _first_fitting(*candidates: str, max_parts: int = 1) -> str:
    """The first candidate that fits; else the last one cut to fit.

    Templates that carry a tracking code or a status try the service's name
    first and its (ASCII) code second, so a long or non-GSM catalog name can
    never push the code itself out of the SMS.
    """
    for text in candidates:
        if segments.fits(text, max_parts):
            return text
    return _fit(candidates[-1], max_parts)


def _names(service: Service, locale: str) -> tuple[str, str]:
    return service.text("name", locale), service.code


def submitted(service: Service, code: str, locale: str) -> str:
    return _first_fitting(*(Message(
        "%(service)s request received. Code: %(code)s. Check with: STATUS %(code)s. "
        "We will text you when it is ready.",
        service=name, code=code,
    ).render(locale) for name in _names(service, locale)))


def problem_text(service: Service | None, problem: FieldProblem, locale: str) -> str:
    field = service.field(problem.field) if service else None
    if field is not None:
        label = field.text("label", locale)
    elif problem.field in _OTHER_LABELS:
        label = _OTHER_LABELS[problem.field].render(locale)
    else:
        label = problem.field
    return f"{label}: {problem.message.render(locale)}"


def rejected(service: Service, problems: list[FieldProblem], locale: str) -> str:
    """Name the problem(s) and give the exact format; drop problems to fit one segment."""
    shown = [problem_text(service, p, locale) for p in problems] or [""]
    fmt = service.sms_format(locale)
    for n in range(len(shown), 0, -1):
        text = Message("Not accepted: %(problems)s. Format: %(format)s",
                       problems="; ".join(shown[:n]), format=fmt).render(locale)
        if segments.fits(text):
            return text
    return _fit(text)


def format_hint(service: Service, locale: str) -> str:
    return _first_fitting(*(Message("For %(service)s send: %(format)s (fields separated by #)",
                                    service=name, format=service.sms_format(locale)).render(locale)
                            for name in _names(service, locale)))


def status(code: str, service_name: str, status_label: str, date: str, locale: str,
           service_code: str | None = None, reason: str | None = None) -> str:
    """The STATUS answer; the current status's reason or note for the citizen is added when it fits."""
    names = (service_name, service_code or service_name)
    plain = [Message("Request %(code)s (%(service)s): %(status)s, %(date)s.",
                     code=code, service=name, status=status_label, date=date).render(locale) for name in names]
    with_reason = [" ".join((text, Message("Reason: %(note)s", note=reason).render(locale))) for text in plain] \
        if reason else []
    return _first_fitting(*with_reason, *plain)


def replies_paused(locale: str) -> str:
    """Said once when the reply-storm guard starts holding back HELP, INFO and error replies."""
    return Message("Too many messages: replies to HELP and INFO are paused for an hour. "
                   "Requests you send still get their code.").render(locale)


def status_not_found(code: str, locale: str) -> str:
    """The one answer for an unknown code AND for someone else's code."""
    return _fit(Message("No request %(code)s for this number. Check the code on your receipt.",
                        code=code).render(locale))


def status_check_code(locale: str) -> str:
    return Message("That code has a typo: check the code on your receipt and send STATUS <code> again.").render(locale)


def status_usage(locale: str) -> str:
    return Message("To check a request send: STATUS <code>, e.g. STATUS ABCDE-12345").render(locale)


def info(service: Service, locale: str) -> str:
    text = Message(
        "%(service)s. Requirements: %(requirements)s. Fee: %(fee)s. Time: %(time)s. Format: %(format)s",
        service=service.text("name", locale),
        requirements=service.text("requirements", locale) or "-",
        fee=service.text("fee", locale) or "-",
        time=service.text("processing_time", locale) or "-",
        format=service.sms_format(locale),
    ).render(locale)
    return _fit(text, INFO_MAX_PARTS)


def main_keywords(catalog: Catalog) -> str:
    return ", ".join(s.keywords[0] for s in catalog.services)


def info_usage(catalog: Catalog, suggestion: str | None, locale: str) -> str:
    if suggestion:
        return _fit(Message("Unknown keyword. Did you mean INFO %(keyword)s?", keyword=suggestion).render(locale))
    return _fit(Message("Send INFO <keyword>. Services: %(keywords)s",
                        keywords=main_keywords(catalog)).render(locale))


def help_text(catalog: Catalog, locale: str) -> str:
    return _fit(Message(
        "SMS services: %(keywords)s. Details: INFO <keyword>. Check: STATUS <code>. "
        "Bahasa Indonesia: BAHASA ID",
        keywords=main_keywords(catalog),
    ).render(locale))


def language_set(locale: str) -> str:
    return Message("Language set to English. Send HELP for the list of services.").render(locale)


def language_usage(locale: str) -> str:
    return Message("Send BAHASA ID for Indonesian, LANGUAGE EN for English, BASA JAWA or BASA SUNDA."
                   ).render(locale)


def did_you_mean(catalog: Catalog, suggestion: str, service: Service | None, locale: str) -> str:
    if service is not None:
        return _fit(Message("Unknown keyword. Did you mean %(keyword)s? Format: %(format)s",
                            keyword=suggestion, format=service.sms_format(locale)).render(locale))
    return _fit(Message("Unknown keyword. Did you mean %(keyword)s? Services: %(keywords)s",
                        keyword=suggestion, keywords=main_keywords(catalog)).render(locale))


# -- the citizen inbox (TANYA and messages that are no command) ----------------

def question_received(locale: str) -> str:
    """The acknowledgement of a question for the inbox (at most one an hour per phone)."""
    return Message("Question received; an officer will reply by SMS.").render(locale)


def unmatched_received(catalog: Catalog, locale: str) -> str | None:
    """A message that is no command: filed as a question, and the services listed as HELP does.

    None when a long catalog pushes it past one SMS (then HELP alone is sent).
    """
    text = Message("Question received; an officer will reply. Services: %(keywords)s. Details: INFO <keyword>",
                   keywords=main_keywords(catalog)).render(locale)
    return text if segments.fits(text) else None


def sentence_received(service: Service, locale: str) -> str | None:
    """A keyword followed by a sentence: the format hint with the acknowledgement; None when both do not fit."""
    for name in _names(service, locale):
        text = Message("Question received; an officer will reply. For %(service)s send: %(format)s",
                       service=name, format=service.sms_format(locale)).render(locale)
        if segments.fits(text):
            return text
    return None


def ask_usage(locale: str) -> str:
    """``TANYA`` with no question."""
    return Message("Send TANYA followed by your question, e.g. TANYA when is the office open?").render(locale)
