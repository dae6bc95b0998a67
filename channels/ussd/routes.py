"""The USSD routes: Africa's Talking and any HTTP USSD aggregator, both authenticated first.

Only an authenticated request's ``phoneNumber`` is the operator's rather than
a stranger's claim, and an unfinished form (NIK, name) is offered by phone
number, so every route answers 403 before anything is read or written unless
``?token=`` equals env ``SIMPUL_USSD_TOKEN`` or the client address is in
``[ussd] allowed_sources`` (addresses or CIDR ranges; the real client
address, behind a trusted proxy too). With neither set every request is
refused, and ``simpul serve`` warns at start.

``[ussd] format`` picks the aggregator: ``africastalking`` (form fields
``sessionId, phoneNumber, text, serviceCode``; reply ``CON …``/``END …``) or
``http`` (``[ussd.http]`` field names; reply text with the configured
prefixes, or JSON ``{"text", "end"}``). The route of the other format
answers 404 (after the 403 check), so an unused form cannot be probed.

Once authenticated, every failure becomes a polite, localized END screen:
aggregators show a 4xx/5xx or an unprefixed body as a bare network error.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from channels.ussd import screens
from channels.ussd.errors import BadRequest
from channels.ussd.handler import Handler, UssdRequest
from gateway.app import node_of
from gateway.config.loader import Config
from gateway.i18n import N_, Message
from gateway.web.compare import same

log = logging.getLogger(__name__)
AFRICASTALKING = "/channels/ussd/africastalking"
HTTP = "/channels/ussd/http"
TOKEN_ENV = "SIMPUL_USSD_TOKEN"
UNGUARDED = N_("USSD is refused to everyone: set SIMPUL_USSD_TOKEN (and put ?token=… in the aggregator's "
               "callback URL) or [ussd] allowed_sources to the aggregator's addresses.")


@lru_cache(maxsize=16)
def _networks(sources: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(s, strict=False) for s in sources)


def authenticated(config: Config) -> bool:
    """``?token=`` matches ``SIMPUL_USSD_TOKEN``, or the client address is an allowed source."""
    token = os.environ.get(TOKEN_ENV, "")
    if token and same(token, request.args.get("token")):
        return True
    sources = tuple(config["ussd.allowed_sources"])
    if not sources or not request.remote_addr:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr)
    except ValueError:
        return False
    return any(address in network for network in _networks(sources))


def unguarded(config: Config) -> bool:
    """True when nothing can authenticate a USSD request (the start-up warning)."""
    return not os.environ.get(TOKEN_ENV, "") and not list(config["ussd.allowed_sources"])


def _forbidden() -> Response:
    return Response("Forbidden\n", status=403, mimetype="text/plain")


def _fields() -> Mapping[str, Any]:
    """The request's fields: a JSON object, else the form, else the query string."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise BadRequest("JSON body is not an object")
        return {k: v if isinstance(v, str) else ("" if v is None else str(v)) for k, v in data.items()}
    return request.form if request.form else request.args


def from_http(config: Config, fields: Mapping[str, Any]) -> UssdRequest:
    """A generic aggregator's request, by the configured field names."""
    s = config.section("ussd.http")
    mapped = {"sessionId": fields.get(s["session_field"]), "phoneNumber": fields.get(s["phone_field"]),
              "text": fields.get(s["text_field"]), "serviceCode": fields.get(s["service_code_field"]) or "",
              "networkCode": ""}
    if mapped["text"] is None:
        mapped["text"] = ""  # many aggregators omit the input on the first request of a session
    return UssdRequest.from_form(mapped, last_only=s["input_mode"] == "last")


def http_reply(config: Config, reply: str) -> Response:
    """The handler's ``CON …``/``END …`` in the aggregator's form."""
    kind, _, text = reply.partition(" ")
    s = config.section("ussd.http")
    end = kind == "END"
    if s["reply"] == "json":
        return Response(json.dumps({"text": text, "end": end}, ensure_ascii=False), mimetype="application/json")
    return Response((s["end_prefix"] if end else s["continue_prefix"]) + text, mimetype="text/plain")


def _error_reply(app: Flask, phone: str) -> str:
    locale = app.config["SIMPUL"]["node.default_locale"]
    try:
        if phone:
            locale = node_of(app).pipeline.locale_for(phone.strip())
    except Exception:  # the store may be what failed; the default locale will do
        pass
    return "END " + screens.error(locale)


def _serve(handler: Handler, fmt: str, read: Callable[[], UssdRequest], answer: Callable[[str], Response]
           ) -> Response:
    config: Config = current_app.config["SIMPUL"]
    if not authenticated(config):
        return _forbidden()
    if config["ussd.format"] != fmt:
        return Response("Not Found\n", status=404, mimetype="text/plain")
    phone = ""
    try:
        if request.method != "POST":
            raise BadRequest("POST only")
        req = read()
        phone = req.phone
        return answer(handler.handle(req))
    except BadRequest as exc:
        log.info("ussd: bad request: %s", exc)
    except HTTPException as exc:  # e.g. a body over MAX_CONTENT_LENGTH
        log.info("ussd: rejected request: %s", exc.name)
    except Exception:
        log.exception("ussd: unexpected error")
    try:
        return answer(_error_reply(current_app, phone))
    except Exception:
        return answer("END " + screens.error(config["node.default_locale"]))


def init_app(app: Flask, handler: Handler) -> None:
    config: Config = app.config["SIMPUL"]

    def plain(reply: str) -> Response:
        return Response(reply, status=200, mimetype="text/plain")

    def africastalking() -> Response:
        return _serve(handler, "africastalking", lambda: UssdRequest.from_form(request.form), plain)

    def http() -> Response:
        return _serve(handler, "http", lambda: from_http(config, _fields()), lambda r: http_reply(config, r))

    app.add_url_rule(AFRICASTALKING, "ussd_africastalking", africastalking, methods=["GET", "POST"])
    app.add_url_rule(HTTP, "ussd_http", http, methods=["GET", "POST"])
    if unguarded(config):
        app.extensions.setdefault("simpul_start_warnings", []).append(Message(UNGUARDED))
