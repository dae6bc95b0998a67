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
from gateway.config import checks
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
    """Session lifetimes, who may call, and the generic aggregator's fields ([ussd] in config.toml)."""
    return (
        Setting("ussd.session_timeout_seconds", 180, "A USSD session is forgotten after this long."),
        Setting("ussd.resume_minutes", 10, "An unfinished USSD form is offered for resumption this long."),
        Setting("ussd.format", "africastalking", "USSD aggregator: 'africastalking' or 'http' ([ussd.http] field "
                "names); the other format's route answers 404.", check=checks.one_of("africastalking", "http")),
        Setting("ussd.allowed_sources", [], "Client addresses or CIDR ranges (e.g. [\"10.0.0.0/8\"]) whose USSD "
                "requests are accepted without ?token=; empty: only SIMPUL_USSD_TOKEN authenticates.",
                item=str, check=checks.ip_networks),
        Setting("ussd.http.session_field", "sessionId", "Generic USSD aggregator: the field holding the session id."),
        Setting("ussd.http.phone_field", "msisdn", "Generic USSD aggregator: the field holding the caller's number."),
        Setting("ussd.http.text_field", "input", "Generic USSD aggregator: the field holding the caller's input."),
        Setting("ussd.http.service_code_field", "serviceCode", "Generic USSD aggregator: the field holding the "
                "dialled code."),
        Setting("ussd.http.input_mode", "path", "Generic USSD aggregator: 'path' (every input so far, 1*2*3) or "
                "'last' (only the newest input).", check=checks.one_of("path", "last")),
        Setting("ussd.http.reply", "text", "Generic USSD aggregator: reply as 'text' (with the prefixes below) or "
                "'json' ({\"text\": ..., \"end\": true|false}).", check=checks.one_of("text", "json")),
        Setting("ussd.http.continue_prefix", "CON ", "Generic USSD aggregator: text-reply prefix of a screen that "
                "waits for input."),
        Setting("ussd.http.end_prefix", "END ", "Generic USSD aggregator: text-reply prefix of the last screen."),
    )
