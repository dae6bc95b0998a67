"""What every web surface shares: templates, static files, language, local dates.

Templates and static files live in the ``kiosk_ui`` package and are found
through ``importlib.resources`` so they work from a wheel as well as from a
checkout. Jinja's i18n extension gets gettext callables that read the
request's locale, so one app serves Indonesian and English side by side.

The node (kiosk, portal) and the regional server both install it; each names
the config keys of its default language, time zone and site name
(:class:`Site`), so the regional server's case workers get the kiosk's
stylesheet, language switch and local dates without a node.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from markupsafe import Markup

from gateway.i18n import LANGUAGE_NAMES, LOCALES, pick_locale, translations
from gateway.intake.catalog import Service
from gateway.web import csrf
from gateway.web.headers import install_headers
from gateway.web.proxy import cookie_secure

LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Site:
    """Config keys (in ``app.config["SIMPUL"]``) a surface reads its defaults from."""

    default_locale: str = "node.default_locale"
    timezone: str = "node.timezone"
    name: str = "node.name"


NODE = Site()


def _site() -> Site:
    return current_app.extensions.get("simpul_ui") or NODE


def _setting(key: str, fallback: str) -> str:
    config = current_app.config.get("SIMPUL")
    try:
        return str(config[key]) if config is not None else fallback
    except KeyError:
        return fallback


def request_locale(default: str) -> str:
    """?lang=, then the lang cookie, then Accept-Language, then the default."""
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate and candidate in LOCALES:
            return candidate
    best = request.accept_languages.best_match(LOCALES)
    return pick_locale(best, default) if best else default


def _(msgid: str, **params: Any) -> str:
    """Translate for the current request (Python side of the templates' ``_``)."""
    text = translations(locale()).gettext(msgid)
    return text % params if params else text


def locale() -> str:
    if "locale" not in g:
        g.locale = request_locale(_setting(_site().default_locale, "id"))
    return g.locale


def _gettext(msgid: str) -> str:
    return translations(locale()).gettext(msgid)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(locale()).ngettext(singular, plural, n)


def _remember_language(response: Response) -> Response:
    wanted = request.args.get("lang")
    if wanted in LOCALES and request.cookies.get(LANG_COOKIE) != wanted:
        response.set_cookie(LANG_COOKIE, wanted, max_age=LANG_COOKIE_MAX_AGE, samesite="Lax",
                            httponly=True, secure=cookie_secure())
    return response


def service_or_404(code: str) -> Service:
    """The catalog service a URL names; 404 for a code the catalog does not have."""
    from gateway.app import node_of

    service = node_of(current_app).catalog.service(code)
    if service is None:
        abort(404)
    return service


def lang_url(code: str) -> str:
    args = request.args.to_dict()
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"


def install_ui(app: Flask, site: Site = NODE) -> None:
    """Idempotent: the portal and the kiosk both call it on the node's app."""
    if app.extensions.get("simpul_ui"):
        return
    app.extensions["simpul_ui"] = site
    root = resources.files("kiosk_ui")
    blueprint = Blueprint("ui", __name__, template_folder=str(root / "templates"),
                          static_folder=str(root / "static"), static_url_path="/static")
    app.register_blueprint(blueprint)
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    app.after_request(_remember_language)
    app.after_request(csrf.set_anon_cookie)
    install_headers(app)

    @app.context_processor
    def _ui_context() -> dict[str, Any]:
        return {"locale": locale(), "locales": LOCALES, "language_names": LANGUAGE_NAMES,
                "lang_url": lang_url, "node_name": _setting(_site().name, "")}

    app.jinja_env.filters["svg"] = lambda text: Markup(text)  # noqa: S704 - our own SVG renderers only
    app.jinja_env.filters["when"] = local_time


@lru_cache(maxsize=16)
def _babel_locale(code: str) -> Any:
    # Babel parses a locale name on every call given a string: a page of
    # 1,000 nodes with two dates each spent half its time there.
    from babel import Locale

    return Locale.parse(code)


def local_time(value: str | None, pattern: str = "d MMM yyyy HH:mm") -> str:
    """A stored UTC timestamp shown in the site's time zone and the reader's language."""
    if not value:
        return ""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from babel.dates import format_datetime

    from gateway import clock

    try:
        zone = ZoneInfo(_setting(_site().timezone, "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return format_datetime(clock.parse(value), pattern, tzinfo=zone, locale=_babel_locale(locale()))


def wait_message(seconds: int) -> str:
    """What a throttled login or password form says (kiosk and regional server alike)."""
    if seconds <= 90:
        return _("Too many failed attempts. Wait %(n)d seconds and try again.", n=seconds)
    return _("Too many failed attempts. Wait %(n)d minutes and try again.", n=(seconds + 59) // 60)


def new_password_problem(current: str, new: str, confirm: str) -> str | None:
    """Why a new password typed into a change-password form is refused, or None."""
    from gateway.web.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

    if new != confirm:
        return _("The two new passwords are not the same.")
    if len(new) < MIN_PASSWORD_LENGTH:
        return _("The password must be at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if len(new) > MAX_PASSWORD_LENGTH:
        return _("The password must be at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)
    if new == current:
        return _("The new password must differ from the current one.")
    return None
