"""What the kiosk and the portal share: templates, static files, language, headers.

Templates and static files live in the ``kiosk_ui`` package and are found
through ``importlib.resources`` so they work from a wheel as well as from a
checkout. Jinja's i18n extension gets gettext callables that read the
request's locale, so one app serves Indonesian and English side by side.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from markupsafe import Markup

from gateway.app import node_of, request_locale
from gateway.i18n import LANGUAGE_NAMES, LOCALES, translations
from gateway.intake.catalog import Service

LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _(msgid: str, **params: Any) -> str:
    """Translate for the current request (Python side of the templates' ``_``)."""
    text = translations(locale()).gettext(msgid)
    return text % params if params else text


def locale() -> str:
    if "locale" not in g:
        g.locale = request_locale(node_of(current_app).config["node.default_locale"])
    return g.locale


def _gettext(msgid: str) -> str:
    return translations(locale()).gettext(msgid)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(locale()).ngettext(singular, plural, n)


def _remember_language(response: Response) -> Response:
    wanted = request.args.get("lang")
    if wanted in LOCALES and request.cookies.get(LANG_COOKIE) != wanted:
        response.set_cookie(LANG_COOKIE, wanted, max_age=LANG_COOKIE_MAX_AGE, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response


def secure_headers(response: Response) -> Response:
    """Headers on every response the node sends (webhooks included)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint == "ui.static":
        headers["Cache-Control"] = "public, max-age=3600"
    else:
        # Pages show tracking codes, names, NIKs: nothing is kept by the
        # browser or an intermediate cache on a shared kiosk.
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    if response.mimetype == "text/html":
        headers.add("Vary", "Cookie")
    return response


def service_or_404(code: str) -> Service:
    """The catalog service a URL names; 404 for a code the catalog does not have."""
    service = node_of(current_app).catalog.service(code)
    if service is None:
        abort(404)
    return service


def lang_url(code: str) -> str:
    args = request.args.to_dict()
    args["lang"] = code
    from urllib.parse import urlencode

    return f"{request.path}?{urlencode(args)}"


def install_ui(app: Flask) -> None:
    """Idempotent: both the portal and the kiosk call it."""
    if app.extensions.get("simpul_ui"):
        return
    app.extensions["simpul_ui"] = True
    root = resources.files("kiosk_ui")
    blueprint = Blueprint("ui", __name__, template_folder=str(root / "templates"),
                          static_folder=str(root / "static"), static_url_path="/static")
    app.register_blueprint(blueprint)
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    app.after_request(_remember_language)
    from channels.web.csrf import set_anon_cookie

    app.after_request(set_anon_cookie)
    app.after_request(secure_headers)

    @app.context_processor
    def _ui_context() -> dict[str, Any]:
        return {"locale": locale(), "locales": LOCALES, "language_names": LANGUAGE_NAMES,
                "lang_url": lang_url, "node_name": node_of(current_app).config["node.name"]}

    app.jinja_env.filters["svg"] = lambda text: Markup(text)  # noqa: S704 - our own SVG renderers only
    app.jinja_env.filters["when"] = local_time


def local_time(value: str | None, pattern: str = "d MMM yyyy HH:mm") -> str:
    """A stored UTC timestamp shown in the node's time zone and the reader's language."""
    if not value:
        return ""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from babel.dates import format_datetime

    from gateway import clock

    try:
        zone = ZoneInfo(node_of(current_app).config["node.timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return format_datetime(clock.parse(value), pattern, tzinfo=zone, locale=locale())
