"""Twilio: REST for outbound, signed webhooks for inbound SMS and delivery status.

Twilio does not offer two-way SMS in Indonesia (docs/sms.md, "Which route
where"); it stays for the countries where it does.

Both webhooks answer 403 to everything while ``SIMPUL_TWILIO_AUTH_TOKEN`` is
unset (whatever ``[sms] provider`` is), and check ``X-Twilio-Signature`` with
twilio's ``RequestValidator`` before anything is read from the store or
written to it. The URL signed is the one Twilio called: ``node.public_url`` +
path when configured (a node behind a reverse proxy sees another
host/scheme), else the request URL. Forwarded headers are deliberately not
trusted.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import quote

import requests
from flask import Blueprint, Flask, Response, current_app, request
from twilio import request_validator
from twilio.twiml.messaging_response import MessagingResponse

from channels.sms.errors import SmsError
from channels.sms.inbound import Handler, InboundSms
from channels.sms.providers.base import HTTP_TIMEOUT, Offline, Permanent, Retryable, Unknown, never_connected
from gateway.app import node_of
from gateway.config.loader import Config
from gateway.outbox import delivery
from gateway.web.compare import same

KEY = "twilio"
TOKEN_ENV = "SIMPUL_TWILIO_AUTH_TOKEN"
bp = Blueprint("sms_twilio", __name__)


class TwilioProvider:
    name = KEY
    blank_on_handover = False  # status callbacks report delivery

    def __init__(self, config: Config, token: str):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        twilio = config.section("sms.twilio")
        if not twilio["account_sid"] or not twilio["from_number"]:
            raise SmsError("sms.provider = 'twilio' needs sms.twilio.account_sid and sms.twilio.from_number")
        # Message bodies and numbers are personal data: keep the library's
        # request logging quiet whatever the root logger level is.
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        http = TwilioHttpClient(timeout=HTTP_TIMEOUT)
        if http.session is not None:
            http.session.trust_env = False  # never route through an env proxy
        self.client = Client(twilio["account_sid"], token, http_client=http)
        if twilio["api_base_url"]:
            self.client.api.base_url = twilio["api_base_url"].rstrip("/")
        self.from_number = twilio["from_number"]
        self.public_url = config["node.public_url"].rstrip("/")

    def send(self, outbound_id: int, to: str, body: str) -> str:
        from twilio.base.exceptions import TwilioRestException

        kwargs: dict[str, str] = {"to": to, "body": body}
        if self.from_number.startswith("MG"):
            kwargs["messaging_service_sid"] = self.from_number
        else:
            kwargs["from_"] = self.from_number
        if self.public_url:
            kwargs["status_callback"] = f"{self.public_url}/channels/sms/twilio/status?outbound={outbound_id}"
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            code = str(exc.code) if exc.code is not None else None
            if exc.status == 429 or exc.status >= 500:
                raise Retryable(f"twilio HTTP {exc.status}", code) from None
            raise Permanent(f"twilio HTTP {exc.status} code {code}: {exc.msg}", code) from None
        except requests.exceptions.ConnectTimeout:
            raise Offline("twilio: connect timeout (offline?)") from None
        except requests.exceptions.ConnectionError as exc:
            if never_connected(exc):
                raise Offline("twilio: cannot connect (offline?)") from None
            raise Unknown("twilio: connection lost before the answer; outcome unknown") from None
        except requests.exceptions.Timeout:
            raise Unknown("twilio: no answer in time; outcome unknown") from None
        return message.sid

    def recover(self, row: dict[str, Any]) -> str | None:
        return None  # Twilio cannot be asked "did you get this?"; a later callback naming the row wins


def signed_url() -> str:
    """The URL Twilio signed: ``node.public_url`` + path, else scheme://Host/path as received.

    Built from the WSGI environ rather than ``request.url``, which also
    IRI-decodes (slow, and not what Twilio signed).
    """
    base = current_app.config["SIMPUL"]["node.public_url"].rstrip("/")
    environ = request.environ
    if not base:
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        base = f"{environ['wsgi.url_scheme']}://{host}"
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING", "")
    return base + path + (f"?{query}" if query else "")


def signature_ok() -> bool:
    token = os.environ.get(TOKEN_ENV, "")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    algorithm = None
    choose = getattr(request_validator, "get_signature_algorithm", None)
    if choose is not None:  # newer twilio: optional HMAC_SHA256 webhooks
        algorithm = choose(request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    validator = request_validator.RequestValidator(token)
    url, form = signed_url(), request.form
    try:
        if algorithm is None or algorithm.upper() == "HMAC_SHA1":
            # Common case first: the exact URL (one HMAC); validate() then
            # also tries the URL with/without the default port.
            if same(validator.compute_signature(url, form), signature):
                return True
            return validator.validate(url, form, signature)
        return validator.validate(url, form, signature, algorithm)
    except (ValueError, TypeError, UnicodeError):
        return False


def forbidden() -> Response:
    return Response("Forbidden\n", status=403, mimetype="text/plain")


def twiml(reply: str | None) -> Response:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return Response(response.to_xml(), mimetype="text/xml")


@bp.post("/channels/sms/twilio")
def inbound():
    if not signature_ok():
        return forbidden()
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    sender = form.get("From", "")
    if not sid or not sender:
        return Response("MessageSid and From are required\n", status=400, mimetype="text/plain")
    handler: Handler = current_app.extensions["simpul_sms"]
    outcome = handler.handle(InboundSms("twilio", sid, sender, form.get("Body", "")))
    return twiml(outcome.reply)


@bp.post("/channels/sms/twilio/status")
def status_callback():
    if not signature_ok():
        return forbidden()
    form = request.form
    outbound_id = request.args.get("outbound", type=int)
    delivery.apply_callback(node_of(current_app).store, provider=KEY, provider_id=form.get("MessageSid", ""),
                            status=form.get("MessageStatus", ""), error_code=form.get("ErrorCode") or None,
                            outbound_id=outbound_id)
    return Response(status=204)


def build(config: Config) -> TwilioProvider:
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise SmsError(f"sms.provider = 'twilio' needs env {TOKEN_ENV}")
    return TwilioProvider(config, token)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
