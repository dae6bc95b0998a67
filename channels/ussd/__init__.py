"""USSD channel: Africa's Talking callbacks driving a catalog-built menu.

``POST /channels/ussd/africastalking`` answers ``text/plain`` starting with
``CON`` (continue) or ``END`` (finish). The aggregator shows a 4xx/5xx or an
unprefixed body as a bare network error, so every failure here becomes a
polite, localized ``END`` screen instead. Modules: ``menu`` (pure state
machine), ``screens`` (pure renderers), ``sessions`` (SQLite state),
``handler`` (the I/O edge). See docs/ussd.md.
"""

from __future__ import annotations

import hmac
import logging
import os

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from channels.ussd import screens
from channels.ussd.errors import BadRequest
from channels.ussd.handler import Handler, UssdRequest
from gateway.app import node_of
from gateway.config.settings import Setting

log = logging.getLogger(__name__)
ROUTE = "/channels/ussd/africastalking"
TOKEN_ENV = "SIMPUL_USSD_TOKEN"


def _plain(body: str) -> Response:
    return Response(body, status=200, mimetype="text/plain")


def _error_reply(app: Flask) -> str:
    locale = app.config["SIMPUL"]["node.default_locale"]
    try:
        phone = request.form.get("phoneNumber") or ""
        if phone:
            locale = node_of(app).pipeline.locale_for(phone.strip())
    except Exception:  # the store may be what failed; the default locale will do
        pass
    return "END " + screens.error(locale)


def init_app(app: Flask) -> None:
    """Wire this channel's routes into the node app."""
    handler = Handler(node_of(app), app.config["SIMPUL"])
    app.extensions["simpul_ussd"] = handler
    # Africa's Talking does not sign callbacks. With this secret set, the
    # callback URL registered there must carry ?token=<secret>; anything else
    # is refused before the database is touched.
    token = os.environ.get(TOKEN_ENV, "")

    def africastalking() -> Response:
        try:
            if request.method != "POST":
                raise BadRequest("POST only")
            if token and not hmac.compare_digest(request.args.get("token", "").encode(), token.encode()):
                raise BadRequest("missing or wrong callback token")
            req = UssdRequest.from_form(request.form)
            return _plain(handler.handle(req))
        except BadRequest as exc:
            log.info("ussd: bad request: %s", exc)
        except HTTPException as exc:  # e.g. a body over MAX_CONTENT_LENGTH
            log.info("ussd: rejected request: %s", exc.name)
        except Exception:
            log.exception("ussd: unexpected error")
        try:
            return _plain(_error_reply(current_app))
        except Exception:
            return _plain("END " + screens.error(app.config["SIMPUL"]["node.default_locale"]))

    app.add_url_rule(ROUTE, "ussd_africastalking", africastalking, methods=["GET", "POST"])


order = 20
channels = ("ussd",)  # requests.channel values this part writes


def migrations():
    from channels.ussd.schema import migrations as sets

    return sets


def settings() -> tuple[Setting, ...]:
    """Session lifetimes ([ussd] in config.toml)."""
    return (
        Setting("ussd.session_timeout_seconds", 180, "A USSD session is forgotten after this long."),
        Setting("ussd.resume_minutes", 10, "An unfinished USSD form is offered for resumption this long."),
    )
