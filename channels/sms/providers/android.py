"""An Android phone as the SMS gateway: SMS Gateway for Android (capcom6) in Local Server mode.

The phone sits on the office LAN. Outbound: its REST API, ``POST
<url>/message`` with Basic auth (``[sms.android] url, username`` and env
``SIMPUL_ANDROID_PASSWORD``), paced by ``[sms.android] per_minute``. We name
each message ``simpul-<row id>``, so the phone's reports name our row and a
crashed sender can ask the phone (``GET /message/<id>``) whether it got it.

Inbound: the app's webhooks, all registered to ``POST /channels/sms/android``
(https://docs.sms-gate.app/features/webhooks/):

- ``sms:received`` (``payload.messageId, message, phoneNumber, receivedAt``):
  an SMS in. The app's ``messageId`` is content-based and not unique, so the
  dedupe key is a hash of phone, text and ``receivedAt``. Android hands the
  app a long (multipart) SMS already joined, in any alphabet (UCS-2 too).
- ``sms:sent`` / ``sms:delivered`` / ``sms:failed``: delivery reports.
- ``system:ping``: the phone is alive (the kiosk and ``doctor`` show a phone
  silent for over 15 minutes).

Authentication before anything is read or written: ``?secret=`` must equal
env ``SIMPUL_ANDROID_WEBHOOK_SECRET`` (unset: always 403, as Twilio without
its token); with env ``SIMPUL_ANDROID_SIGNING_KEY`` set, ``X-Signature`` must
also be the hex HMAC-SHA256 of the raw body followed by ``X-Timestamp``, and
the timestamp within 5 minutes, exactly as the app documents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from channels.sms.errors import SmsError
from channels.sms.inbound import Handler, InboundSms
from channels.sms.providers.base import (
    NOT_HANDED_OVER,
    Permanent,
    Retryable,
    SendError,
    http_send,
    our_id,
    row_of,
    session,
)
from gateway import clock
from gateway.app import node_of
from gateway.config.loader import Config
from gateway.outbox import delivery
from gateway.storage import kv
from gateway.web.compare import same

KEY = "android"
PASSWORD_ENV = "SIMPUL_ANDROID_PASSWORD"
SECRET_ENV = "SIMPUL_ANDROID_WEBHOOK_SECRET"
SIGNING_ENV = "SIMPUL_ANDROID_SIGNING_KEY"
PING_KEY = "sms.android.last_seen"
SILENT_MINUTES = 15
MAX_SKEW_SECONDS = 300  # the app's docs: accept timestamps within +-5 minutes
REPORTS = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}
bp = Blueprint("sms_android", __name__)


class AndroidProvider:
    """Hands messages to the phone's Local Server API."""

    name = KEY
    blank_on_handover = False  # the phone reports sent/delivered/failed

    def __init__(self, config: Config, password: str):
        section = config.section("sms.android")
        if not section["url"] or not section["username"]:
            raise SmsError("sms.provider = 'android' needs sms.android.url and sms.android.username")
        self.url = section["url"].rstrip("/")
        self.auth = (section["username"], password)
        self.http = session()

    def send(self, outbound_id: int, to: str, body: str) -> str:
        message_id = our_id(outbound_id)
        payload = {"id": message_id, "textMessage": {"text": body}, "phoneNumbers": [to],
                   "withDeliveryReport": True}
        response = http_send(self.http, "android", "POST", f"{self.url}/message", json=payload, auth=self.auth)
        if response.status_code in (401, 403):
            # Wrong credentials are the office's to fix, not the message's fault: retry later.
            raise Retryable(f"android HTTP {response.status_code}: username/password refused",
                            str(response.status_code))
        if response.status_code >= 400:
            raise Permanent(f"android HTTP {response.status_code}", str(response.status_code))
        return message_id

    def recover(self, row: dict[str, Any]) -> str | None:
        """Ask the phone whether it holds ``simpul-<id>``: 404 means it never got it."""
        message_id = our_id(row["id"])
        try:
            response = http_send(self.http, "android", "GET", f"{self.url}/message/{message_id}", auth=self.auth)
        except SendError:
            return None
        if response.status_code == 404:
            return NOT_HANDED_OVER
        return message_id if response.status_code == 200 else None


def build(config: Config) -> AndroidProvider:
    password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        raise SmsError(f"sms.provider = 'android' needs env {PASSWORD_ENV}")
    return AndroidProvider(config, password)


# -- webhooks ---------------------------------------------------------------

def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


def signature_ok(key: str, body: bytes, timestamp: str, signature: str, now: float | None = None) -> bool:
    """The app's scheme: hex HMAC-SHA256(key, raw body + X-Timestamp), timestamp within 5 minutes."""
    # ASCII digits only: "²".isdigit() is true but int() refuses it, and a
    # 5,000-digit value exceeds int()'s limit; either used to end in a 500.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12 or not signature:
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    expected = hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    return same(expected, signature.strip().lower())


def authenticated() -> bool:
    secret = os.environ.get(SECRET_ENV, "")
    if not secret or not same(secret, request.args.get("secret")):
        return False
    key = os.environ.get(SIGNING_ENV, "")
    if key:
        return signature_ok(key, request.get_data(cache=True), request.headers.get("X-Timestamp", ""),
                            request.headers.get("X-Signature", ""))
    return True


def dedupe_id(phone: str, text: str, received_at: str) -> str:
    """The app's messageId is content-based, not unique: phone, text and time make the key."""
    digest = hashlib.sha256("\x1f".join((phone, text, received_at)).encode("utf-8", "surrogatepass"))
    return f"android:{digest.hexdigest()[:32]}"


def _received(payload: dict[str, Any]) -> Response:
    phone, text, received_at = payload.get("phoneNumber"), payload.get("message"), payload.get("receivedAt")
    if not isinstance(phone, str) or not phone or not isinstance(text, str) or not isinstance(received_at, str):
        return _plain("payload.phoneNumber, message and receivedAt are required", 400)
    handler: Handler = current_app.extensions["simpul_sms"]
    outcome = handler.handle(InboundSms(KEY, dedupe_id(phone, text, received_at), phone, text), queue_reply=True)
    mark_seen(current_app)
    return Response(json.dumps({"kind": outcome.kind, "duplicate": outcome.duplicate}),
                    mimetype="application/json")


def _report(event: str, payload: dict[str, Any]) -> Response:
    message_id = payload.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        return _plain("payload.messageId is required", 400)
    reason = payload.get("reason")
    delivery.apply_callback(node_of(current_app).store, provider=KEY, provider_id=message_id,
                            status=REPORTS[event], error_code=str(reason)[:200] if reason else None,
                            outbound_id=row_of(message_id))
    return Response(status=204)


def mark_seen(app: Flask) -> None:
    now = clock.utcnow()
    node_of(app).store.write(lambda db: kv.put(db, PING_KEY, now))


def last_seen(db: Any) -> str | None:
    """When the phone last pinged or forwarded an SMS (UTC ISO), or None."""
    return kv.get(db, PING_KEY)


def silent(db: Any, now: dt.datetime | None = None) -> bool:
    """True when the phone was seen once but not in the last 15 minutes."""
    seen = last_seen(db)
    if seen is None:
        return False
    return clock.parse(seen) < (now or clock.now()) - dt.timedelta(minutes=SILENT_MINUTES)


@bp.post("/channels/sms/android")
def webhook() -> Response:
    if not authenticated():
        return _plain("Forbidden", 403)
    try:
        data = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        return _plain("a JSON body is required", 400)
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        return _plain("event and payload are required", 400)
    event, payload = data.get("event"), data["payload"]
    if event == "sms:received":
        return _received(payload)
    if event in REPORTS:
        return _report(event, payload)
    if event == "system:ping":
        mark_seen(current_app)
        return Response(status=204)
    return Response(status=204)  # an event we do not use (mms, data sms): accepted so the app stops retrying


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
