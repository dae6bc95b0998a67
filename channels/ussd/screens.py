"""Pure renderers: a session state -> the text of one USSD screen.

Every screen must fit 160 characters (182 is the aggregator's hard limit)
in every locale, whatever the catalog holds. Lists and long texts are split
into pages reached with ``98``; a one-shot notice (a validation problem,
"invalid choice") takes the place of the title line so it never pushes a
menu off the screen; as a last resort long free text (a catalog prompt, an
entered address on the confirm screen) is shortened with "...". Only plain
GSM-7 characters are used in the templates.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from channels.ussd.fields import accepts_navigation, skip_entry
from channels.ussd.state import State
from gateway import clock
from gateway.cases.records import status_label
from gateway.i18n import LANGUAGE_NAMES, LOCALES, N_, Message, gettext
from gateway.i18n import render as render_message
from gateway.intake.catalog import Catalog, Field, Service
from gateway.intake.pipeline import LIMITED

LIMIT = 160
MAX_ITEMS = 97  # list numbers stop before 98 ("more")
ELLIPSIS = "..."

MAIN_TITLE = N_("Village services")
MAIN_ITEMS = (N_("Submit a request"), N_("Check status"), N_("Service info"), N_("Bahasa/Language"))
CHOOSE_SERVICE = N_("Choose a service:")
MORE = N_("98 More")
BACK = N_("0 Back")
HOME = N_("00 Main menu")
FIELD_NAV = N_("0 Back, 00 Main menu")
SKIP = N_("%(n)s Skip")
CONFIRM_TITLE = N_("Send %(service)s?")
CONFIRM_CHOICES = N_("1 Send, 2 Cancel, 0 Back")
STATUS_PROMPT = N_("Type your tracking code (e.g. ABCDE-12345):")
STATUS_RESULT = N_("Code %(code)s\n%(service)s\nStatus: %(status)s\nUpdated %(date)s")
STATUS_AGAIN = N_("0 Check another code")
REQUIREMENTS = N_("Requirements: %(text)s")
FEE = N_("Fee: %(text)s")
PROCESSING_TIME = N_("Processing time: %(text)s")
LANGUAGE_TITLE = N_("Choose language:")
RESUME = N_("You have an unfinished request: %(service)s.")
RESUME_CHOICES = N_("1 Continue\n2 Start over")
SENT = N_("Request received. Tracking code: %(code)s\nWe also sent it by SMS. Check status in menu 2 or by SMS: STATUS %(code)s")
CANCELLED = N_("Cancelled. Nothing was sent.")
NOT_SAVED = N_("Sorry, your request could NOT be saved because of a fault. Please try again later.")
FAILED = N_("Sorry, this request cannot be sent: %(problem)s")
EXPIRED = N_("Your session has ended. Please dial again.")
EXPIRED_DRAFT = N_("Your session has ended. Dial again within %(minutes)d minutes to continue your form.")
ERROR = N_("Sorry, something went wrong. Please try again later.")
RECEIPT_SMS = N_("Your %(service)s request was received. Tracking code: %(code)s. To check its status, send: STATUS %(code)s")
INVALID_CHOICE = N_("Invalid choice.")
NO_MORE = N_("No more pages.")
# Notices a list screen may show in place of its title (reserved when paging).
LIST_NOTICES = (INVALID_CHOICE, NO_MORE)


def _(locale: str, msgid: str, **params: object) -> str:
    return gettext(locale, msgid, **params)


def shorten(text: str, size: int) -> str:
    if len(text) <= size:
        return text
    return text[: max(0, size - len(ELLIPSIS))].rstrip() + ELLIPSIS


def fit(lines: list[str], flexible: tuple[int, ...] = ()) -> str:
    """Join lines; shorten the flexible ones (in order) until the screen fits."""
    lines = [line for line in lines if line is not None]
    for i in flexible:
        over = len("\n".join(x for x in lines if x)) - LIMIT
        if over <= 0:
            break
        if i < len(lines) and lines[i]:
            lines[i] = shorten(lines[i], max(len(ELLIPSIS) + 1, len(lines[i]) - over))
    text = "\n".join(x for x in lines if x)
    return shorten(text, LIMIT)


def _notice(state: State) -> str | None:
    message = state.message()
    return message.render(state.locale) if message else None


def _title(state: State, msgid: str, **params: object) -> str:
    return _notice(state) or _(state.locale, msgid, **params)


# --------------------------------------------------------------------------
# Paging


def _reserve(locale: str, title: str) -> int:
    return max(len(title), *(len(_(locale, n)) for n in LIST_NOTICES))


def paginate(items: list[str], head_size: int, footers: tuple[str, str]) -> list[list[int]]:
    """Indexes of ``items`` per page so head + items + footer fit each screen.

    ``footers`` is (footer of a page with more after it, footer of the last page).
    """
    more, last = (len(f) for f in footers)
    pages: list[list[int]] = []
    start = 0
    while True:
        rest = items[start:]
        if head_size + sum(len(x) + 1 for x in rest) + 1 + last <= LIMIT:
            pages.append(list(range(start, len(items))))
            return pages
        size, end = head_size + 1 + more, start
        while end < len(items) and (end == start or size + len(items[end]) + 1 <= LIMIT):
            size += len(items[end]) + 1
            end += 1
        pages.append(list(range(start, end)))
        start = end


def _service_items(catalog: Catalog, locale: str) -> list[str]:
    return [shorten(f"{n} {s.text('name', locale)}", 60)
            for n, s in enumerate(catalog.services[:MAX_ITEMS], 1)]


def _list_footers(locale: str) -> tuple[str, str]:
    return (_(locale, MORE) + "\n" + _(locale, BACK), _(locale, BACK))


def service_pages(catalog: Catalog, locale: str) -> list[list[int]]:
    return paginate(_service_items(catalog, locale),
                    _reserve(locale, _(locale, CHOOSE_SERVICE)), _list_footers(locale))


def _words(line: str, size: int) -> list[str]:
    """Wrap one line at spaces into pieces of at most ``size`` characters."""
    pieces: list[str] = []
    current = ""
    for word in line.split(" "):
        while len(word) > size:  # a word longer than a page
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:size])
            word = word[size:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > size:
            pieces.append(current)
            current = word
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def _chunks(text: str, size: int) -> list[str]:
    """Pages of whole lines where they fit; a line longer than a page is wrapped."""
    pages: list[str] = []
    current = ""
    for line in text.split("\n"):
        for piece in _words(line, size) if len(line) > size else [line]:
            candidate = f"{current}\n{piece}" if current else piece
            if len(candidate) > size:
                pages.append(current)
                current = piece
            else:
                current = candidate
    if current or not pages:
        pages.append(current)
    return pages


def _info_text(service: Service, locale: str) -> str:
    lines = [service.text("name", locale)]
    for msgid, attr in ((REQUIREMENTS, "requirements"), (FEE, "fee"), (PROCESSING_TIME, "processing_time")):
        value = service.text(attr, locale)
        if value:
            lines.append(_(locale, msgid, text=value))
    return "\n".join(lines)


def _info_footers(locale: str) -> tuple[str, str]:
    return (_(locale, MORE) + "\n" + _(locale, BACK), _(locale, BACK) + "\n" + _(locale, HOME))


def info_pages(service: Service, locale: str) -> list[str]:
    """The info text split into pages (a notice, if any, shortens a page for that one screen)."""
    text = _info_text(service, locale)
    if len(text) + 1 + len(_info_footers(locale)[1]) <= LIMIT:
        return [text]
    return _chunks(text, LIMIT - 1 - max(len(f) for f in _info_footers(locale)))


# --------------------------------------------------------------------------
# Screens


def render(state: State, catalog: Catalog, *, timezone: str = "Asia/Jakarta") -> tuple[str, str]:
    """("CON" | "END", screen text) for ``state``."""
    renderer = _RENDERERS.get(state.screen, _main)
    text = renderer(state, catalog, timezone)
    return ("END" if state.ended else "CON"), text


def _main(state: State, catalog: Catalog, tz: str) -> str:
    loc = state.locale
    items = [f"{n} {_(loc, msgid)}" for n, msgid in enumerate(MAIN_ITEMS, 1)]
    return fit([_title(state, MAIN_TITLE), *items], (0,))


def _services(state: State, catalog: Catalog, tz: str) -> str:
    loc = state.locale
    pages = service_pages(catalog, loc)
    page = min(state.page, len(pages) - 1)
    items = _service_items(catalog, loc)
    more, last = _list_footers(loc)
    footer = more if page + 1 < len(pages) else last
    return fit([_title(state, CHOOSE_SERVICE), *(items[i] for i in pages[page]), footer], (0,))


def option_lines(f: Field, locale: str) -> list[str]:
    """A choice field's options, unless the catalog prompt already lists them."""
    prompt = f.text("prompt", locale).casefold()
    labels = [o.label.get(locale) or next(iter(o.label.values()), o.code) for o in f.options]
    if all(label.casefold() in prompt for label in labels):
        return []
    return [f"{i} {label}" for i, label in enumerate(labels, 1)]


def _field(state: State, catalog: Catalog, tz: str) -> str:
    loc = state.locale
    service = catalog.service(state.service or "")
    if service is None or state.index >= len(service.fields):
        return _(loc, ERROR)
    f = service.fields[state.index]
    problem = _notice(state)
    if problem and f.type != "choice":  # a choice prompt already names the field
        problem = f"{f.text('label', loc)}: {problem}"
    lines = [problem or "", f.text("prompt", loc)]
    if f.type == "choice":
        lines += option_lines(f, loc)
    skip = skip_entry(f)
    if skip is not None:
        lines.append(_(loc, SKIP, n=skip))
    if accepts_navigation(f, loc):
        lines.append(_(loc, FIELD_NAV))
    return fit(lines, (0, 1))


def display_value(f: Field | None, value: str, locale: str) -> str:
    if f is not None and f.type == "choice":
        for o in f.options:
            if o.code == value:
                return o.label.get(locale) or value
    return value


def _confirm(state: State, catalog: Catalog, tz: str) -> str:
    loc = state.locale
    service = catalog.service(state.service or "")
    if service is None:
        return _(loc, ERROR)
    head = _title(state, CONFIRM_TITLE, service=service.text("name", loc))
    labels = [f"{f.text('label', loc)}: " for f in service.fields if f.name in state.values]
    values = [display_value(f, state.values[f.name], loc) for f in service.fields if f.name in state.values]
    choices = _(loc, CONFIRM_CHOICES)
    head = shorten(head, 60)
    budget = LIMIT - len(head) - len(choices) - 2 - sum(len(lb) + 1 for lb in labels)
    cap = _cap([len(v) for v in values], budget)
    values = [shorten(v, cap) for v in values]
    return fit([head, *(lb + v for lb, v in zip(labels, values, strict=True)), choices], (0,))


def _cap(lengths: list[int], budget: int) -> int:
    """The largest per-value length so that all values together fit ``budget``."""
    cap = max(lengths, default=0)
    while cap > len(ELLIPSIS) + 1 and sum(min(n, cap) for n in lengths) > budget:
        cap -= 1
    return cap


def _status_entry(state: State, catalog: Catalog, tz: str) -> str:
    loc = state.locale
    return fit([_notice(state) or "", _(loc, STATUS_PROMPT), _(loc, BACK)], (0,))


def local_date(timestamp: str, tz: str) -> str:
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        zone = dt.UTC
    return clock.parse(timestamp).astimezone(zone).strftime("%d-%m-%Y")


def _status_result(state: State, catalog: Catalog, tz: str) -> str:
    loc = state.locale
    result = state.result or {}
    service = catalog.service(result.get("service", ""))
    name = service.text("name", loc) if service else result.get("service", "")
    body = _(loc, STATUS_RESULT, code=result.get("code", ""), service=name,
             status=status_label(result.get("status", ""), loc),
             date=local_date(result.get("updated_at") or clock.utcnow(), tz))
    return fit([_notice(state) or "", body, _(loc, STATUS_AGAIN), _(loc, HOME)], (0, 1))


def _info(state: State, catalog: Catalog, tz: str) -> str:
    loc = state.locale
    service = catalog.service(state.service or "")
    if service is None:
        return _(loc, ERROR)
    pages = info_pages(service, loc)
    page = min(state.page, len(pages) - 1)
    more, last = _info_footers(loc)
    lines = [_notice(state) or "", pages[page], more if page + 1 < len(pages) else last]
    if len("\n".join(x for x in lines if x)) > LIMIT:
        lines[0] = ""  # never cut the page for a notice: the page shown again says enough
    return fit(lines)


def _language(state: State, catalog: Catalog, tz: str) -> str:
    loc = state.locale
    items = [f"{n} {LANGUAGE_NAMES.get(code, code)}" for n, code in enumerate(LOCALES, 1)]
    return fit([_title(state, LANGUAGE_TITLE), *items, _(loc, BACK)], (0,))


def _resume(state: State, catalog: Catalog, tz: str) -> str:
    loc = state.locale
    service = catalog.service(state.service or "")
    name = service.text("name", loc) if service else state.service or ""
    return fit([_notice(state) or "", _(loc, RESUME, service=name), _(loc, RESUME_CHOICES)], (0, 1))


def _sent(state: State, catalog: Catalog, tz: str) -> str:
    return fit([_(state.locale, SENT, code=(state.result or {}).get("code", ""))])


def _cancelled(state: State, catalog: Catalog, tz: str) -> str:
    return _(state.locale, CANCELLED)


def _not_saved(state: State, catalog: Catalog, tz: str) -> str:
    return _(state.locale, NOT_SAVED)


def _limited(state: State, catalog: Catalog, tz: str) -> str:
    return render_message(Message(LIMITED), state.locale)  # the core's one text for the one rule


def _failed(state: State, catalog: Catalog, tz: str) -> str:
    return fit([_(state.locale, FAILED, problem=_notice(state) or "")])


_RENDERERS = {
    "main": _main, "services": _services, "field": _field, "confirm": _confirm,
    "status_entry": _status_entry, "status_result": _status_result, "info": _info,
    "language": _language, "resume": _resume, "sent": _sent, "cancelled": _cancelled,
    "not_saved": _not_saved, "failed": _failed, "limited": _limited,
}


# --------------------------------------------------------------------------
# Screens outside a session


def expired(locale: str, resume_minutes: int | None = None) -> str:
    if resume_minutes:
        return _(locale, EXPIRED_DRAFT, minutes=resume_minutes)
    return _(locale, EXPIRED)


def error(locale: str) -> str:
    return _(locale, ERROR)


def receipt_sms(locale: str, service: Service | None, code: str) -> str:
    """The SMS that repeats the tracking code (a USSD screen vanishes)."""
    name = shorten(service.text("name", locale), 40) if service else ""
    return _(locale, RECEIPT_SMS, service=name, code=code)
