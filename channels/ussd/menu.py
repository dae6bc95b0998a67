"""The USSD menu as a pure state machine: (state, newest input) -> next step.

No I/O here. What needs the database (storing a submission, looking up a
code, saving the language) comes back as an *effect* on the :class:`Step`;
the handler performs it and feeds the outcome back through one of the
``submitted`` / ``not_saved`` / ``rejected`` / ``status_found`` /
``status_problem`` functions, which are pure again. That keeps every screen
transition testable (and walkable exhaustively) without a server.

Navigation (see docs/ussd.md): on menu screens ``0`` goes back, ``00`` to the
main menu and ``98`` shows the next page. On a field screen the input is first
validated as a value for that field; only when it cannot be a valid value is
``0`` / ``00`` taken as navigation, so an NIK, a name or a date is never
misread. Free-text fields reserve exactly ``0`` and ``00`` (a name or address
of "0" means nothing), which is why they too can navigate.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from channels.ussd import screens
from channels.ussd.fields import BACK, HOME, MORE, NAV, field_value, skip_entry
from channels.ussd.state import State, notice
from gateway.i18n import LOCALES, N_, Message
from gateway.intake.catalog import Catalog, FieldProblem, Service
from gateway.intake.validators import Invalid

MAIN_CHOICES = {"1": "submit", "2": "status", "3": "info", "4": "language"}
LANGUAGE_CHOICES = {str(i): loc for i, loc in enumerate(LOCALES, 1)}

INVALID_CHOICE = screens.INVALID_CHOICE
NO_MORE = screens.NO_MORE
PICK_OPTION = N_("Choose a number from the list.")
SERVICE_GONE = N_("This service is no longer offered.")
LANGUAGE_SAVED = N_("Language saved.")
TYPE_CODE = N_("Type the tracking code.")


@dataclass(frozen=True)
class Submit:
    """Store the form through the pipeline."""


@dataclass(frozen=True)
class Lookup:
    code: str


@dataclass(frozen=True)
class SetLanguage:
    locale: str


Effect = Submit | Lookup | SetLanguage


@dataclass
class Step:
    state: State
    effect: Effect | None = None
    drop_draft: bool = False  # the user abandoned or finished the form on purpose


@dataclass(frozen=True)
class Draft:
    service: str
    values: dict[str, str]
    position: int


# --------------------------------------------------------------------------
# Starting and field values


def main_menu(locale: str, message: str | None = None) -> State:
    return State(locale=locale, notice=[message, {}] if message else None)


def start(locale: str, draft: Draft | None, catalog: Catalog) -> State:
    """The first screen: an offer to resume an unfinished form, else the main menu."""
    if draft is not None:
        service = catalog.service(draft.service)
        if service is not None:
            values = {f.name: draft.values[f.name] for f in service.fields if f.name in draft.values}
            if values:
                return State(locale=locale, screen="resume", service=service.code, values=values,
                             index=_resume_position(service, values, draft.position))
    return main_menu(locale)


def _resume_position(service: Service, values: dict[str, str], position: int) -> int:
    position = max(0, min(position, len(service.fields)))
    for i, f in enumerate(service.fields[:position]):
        if f.required and f.name not in values:
            return i
    return position


# --------------------------------------------------------------------------
# Transitions


def step(state: State, entry: str, catalog: Catalog) -> Step:
    s = copy.deepcopy(state)
    s.notice = None
    return _HANDLERS.get(s.screen, _main)(s, entry.strip(), catalog)


def _invalid(s: State, msgid: str = INVALID_CHOICE) -> Step:
    s.notice = [msgid, {}]
    return Step(s)


def _go_main(s: State, *, drop_draft: bool = False) -> Step:
    return Step(main_menu(s.locale), drop_draft=drop_draft)


def _services(s: State, purpose: str) -> State:
    return State(locale=s.locale, screen="services", purpose=purpose)


def _main(s: State, e: str, catalog: Catalog) -> Step:
    choice = MAIN_CHOICES.get(e)
    if choice in ("submit", "info"):
        return Step(_services(s, choice))
    if choice == "status":
        return Step(State(locale=s.locale, screen="status_entry"))
    if choice == "language":
        return Step(State(locale=s.locale, screen="language"))
    return _invalid(main_menu(s.locale))


def _service_list(s: State, e: str, catalog: Catalog) -> Step:
    if e == HOME:
        return _go_main(s)
    if e == BACK:
        if s.page > 0:
            s.page -= 1
            return Step(s)
        return _go_main(s)
    if e == MORE:
        if s.page + 1 < len(screens.service_pages(catalog, s.locale)):
            s.page += 1
            return Step(s)
        return _invalid(s, NO_MORE)
    if e.isdecimal() and 1 <= int(e) <= min(len(catalog.services), screens.MAX_ITEMS):  # "³".isdigit() too
        service = catalog.services[int(e) - 1]
        if s.purpose == "info":
            return Step(State(locale=s.locale, screen="info", service=service.code))
        return Step(State(locale=s.locale, screen="field", service=service.code))
    return _invalid(s)


def _field(s: State, e: str, catalog: Catalog) -> Step:
    service = catalog.service(s.service or "")
    if service is None or s.index >= len(service.fields):
        return Step(main_menu(s.locale, SERVICE_GONE), drop_draft=True)
    f = service.fields[s.index]
    if e == "" or e == skip_entry(f):
        if f.required:
            s.notice = notice(Message("required"))
            return Step(s)
        s.values.pop(f.name, None)
        return Step(_next_field(s, service))
    try:
        s.values[f.name] = field_value(f, e, s.locale)
    except Invalid as exc:
        if e == HOME:
            return _go_main(s, drop_draft=True)
        if e == BACK:
            if s.index == 0:
                return Step(_services(s, "submit"), drop_draft=True)
            s.index -= 1
            return Step(s)
        s.notice = [PICK_OPTION, {}] if f.type == "choice" else notice(exc.message)
        return Step(s)
    return Step(_next_field(s, service))


def _next_field(s: State, service: Service) -> State:
    s.index += 1
    s.screen = "confirm" if s.index >= len(service.fields) else "field"
    return s


def _confirm(s: State, e: str, catalog: Catalog) -> Step:
    service = catalog.service(s.service or "")
    if service is None:
        return Step(main_menu(s.locale, SERVICE_GONE), drop_draft=True)
    if e == "1":
        return Step(s, effect=Submit())
    if e == "2":
        return Step(State(locale=s.locale, screen="cancelled"), drop_draft=True)
    if e == HOME:
        return _go_main(s, drop_draft=True)
    if e == BACK:
        s.screen, s.index = "field", len(service.fields) - 1
        return Step(s)
    return _invalid(s)


def _status_entry(s: State, e: str, catalog: Catalog) -> Step:
    if e in NAV:  # a tracking code is ten symbols: never 0 or 00
        return _go_main(s)
    if not e:
        return _invalid(s, TYPE_CODE)
    return Step(s, effect=Lookup(e))


def _status_result(s: State, e: str, catalog: Catalog) -> Step:
    if e == BACK:
        return Step(State(locale=s.locale, screen="status_entry"))
    if e == HOME:
        return _go_main(s)
    return _invalid(s)


def _info(s: State, e: str, catalog: Catalog) -> Step:
    service = catalog.service(s.service or "")
    if service is None:
        return Step(main_menu(s.locale, SERVICE_GONE))
    if e == HOME:
        return _go_main(s)
    if e == BACK:
        if s.page > 0:
            s.page -= 1
            return Step(s)
        return Step(_services(s, "info"))
    if e == MORE:
        if s.page + 1 < len(screens.info_pages(service, s.locale)):
            s.page += 1
            return Step(s)
        return _invalid(s, NO_MORE)
    return _invalid(s)


def _language(s: State, e: str, catalog: Catalog) -> Step:
    if e in LANGUAGE_CHOICES:
        locale = LANGUAGE_CHOICES[e]
        return Step(main_menu(locale, LANGUAGE_SAVED), effect=SetLanguage(locale))
    if e in NAV:
        return _go_main(s)
    return _invalid(s)


def _resume(s: State, e: str, catalog: Catalog) -> Step:
    service = catalog.service(s.service or "")
    if service is None:
        return Step(main_menu(s.locale, SERVICE_GONE), drop_draft=True)
    if e == "1":
        s.screen = "confirm" if s.index >= len(service.fields) else "field"
        return Step(s)
    if e == "2":
        return _go_main(s, drop_draft=True)
    if e in NAV:  # not now: the draft stays for the next session
        return _go_main(s)
    return _invalid(s)


_HANDLERS = {
    "main": _main, "services": _service_list, "field": _field, "confirm": _confirm,
    "status_entry": _status_entry, "status_result": _status_result, "info": _info,
    "language": _language, "resume": _resume,
}


# --------------------------------------------------------------------------
# Outcomes of effects (pure)


def submitted(s: State, tracking_code: str) -> State:
    return State(locale=s.locale, screen="sent", service=s.service, result={"code": tracking_code})


def not_saved(s: State) -> State:
    """The durable write failed: say so; never claim the request was received."""
    return State(locale=s.locale, screen="not_saved", service=s.service)


def limited(s: State) -> State:
    """Over the per-phone limit: nothing was stored; the unfinished form stays for later."""
    return State(locale=s.locale, screen="limited", service=s.service)


def rejected(s: State, problems: list[FieldProblem], catalog: Catalog) -> State:
    """The pipeline refused the form (e.g. the catalog changed): back to the first bad field."""
    service = catalog.service(s.service or "")
    if service is not None:
        names = [f.name for f in service.fields]
        for problem in problems:
            if problem.field in names:
                r = copy.deepcopy(s)
                r.screen, r.index = "field", names.index(problem.field)
                r.values.pop(problem.field, None)
                r.notice = notice(problem.message)
                return r
    first = problems[0].message if problems else Message("unknown service")
    return State(locale=s.locale, screen="failed", notice=notice(first))


def status_found(s: State, result: dict[str, str]) -> State:
    return State(locale=s.locale, screen="status_result", result=result)


def status_problem(s: State, msgid: str) -> State:
    return State(locale=s.locale, screen="status_entry", notice=[msgid, {}])
