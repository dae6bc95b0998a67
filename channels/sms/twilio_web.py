"""Twilio webhooks: inbound SMS and delivery status callbacks.

Both endpoints answer 403 to everything while ``SIMPUL_TWILIO_AUTH_TOKEN`` is
unset, and check ``X-Twilio-Signature`` with twilio's ``RequestValidator``
before anything is read from the store or written to it. The URL signed is
the one Twilio called: ``node.public_url`` + path when configured (a node
behind a reverse proxy sees another host/scheme), else the request URL.
Forwarded headers are deliberately not trusted.
"""

from __future__ import annotations

import os
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request
from twilio import request_validator
from twilio.twiml.messaging_response import MessagingResponse

from channels.sms.inbound import Handler, InboundSms
from gateway.app import node_of
from gateway.outbox import delivery
from gateway.web.compare import same

TOKEN_ENV = "SIMPUL_TWILIO_AUTH_TOKEN"
bp = Blueprint("sms_twilio", __name__)


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
    delivery.apply_callback(node_of(current_app).store, provider="twilio", provider_id=form.get("MessageSid", ""),
                            status=form.get("MessageStatus", ""), error_code=form.get("ErrorCode") or None,
                            outbound_id=outbound_id)
    return Response(status=204)
