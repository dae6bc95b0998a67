"""Any HTTP SMS aggregator, by configuration alone (like RapidPro's External API channel).

Outbound (``provider = "http"``): ``[sms.http] send_method`` to ``send_url``
with ``send_body``, where ``{to}``, ``{text}`` and ``{id}`` are replaced
(JSON-escaped in a JSON body, URL-encoded in a form body or the URL). The
``Authorization`` header is the value of the env var named by
``send_auth_env``. ``success_status`` says which answers mean "taken"
(``2xx``, or codes such as ``200,202``); 429/5xx are retried, other answers
fail the message. ``response_id_field`` names the aggregator's own id in a
JSON answer (empty: our ``{id}``, ``simpul-<row>``, is the id).

Inbound: ``POST /channels/sms/http?secret=...`` (env ``SIMPUL_SMS_HTTP_SECRET``;
unset: always 403) carrying ``from_field``, ``text_field`` and ``id_field``
in a form or JSON body (``inbound_format``). The text must arrive joined
(aggregators deliver a long SMS as one text) and as Unicode (UCS-2 arrives
as UTF-8 on the web). Replies go out through the outbound queue.

Delivery (optional): ``POST /channels/sms/http/status?secret=...`` with
``status_id_field`` and ``status_field``; ``delivered_values`` and
``failed_values`` (comma-separated) map the aggregator's words. Without
``status_field`` the aggregator reports nothing, and a handed-over text is
blanked at once, as for Gammu (docs/sms.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, request

from channels.sms.errors import SmsError
from channels.sms.inbound import Handler, InboundSms
from channels.sms.providers.base import Permanent, http_send, our_id, row_of, session
from gateway.app import node_of
from gateway.config.loader import Config
from gateway.outbox import delivery
from gateway.web.compare import same

KEY = "http"
SECRET_ENV = "SIMPUL_SMS_HTTP_SECRET"
MAX_TEXT = 10_000  # far beyond any concatenated SMS
bp = Blueprint("sms_http", __name__)


def words(value: str) -> list[str]:
    return [w.strip() for w in str(value).split(",") if w.strip()]


def fill(template: str, values: Mapping[str, str], escape) -> str:  # noqa: ANN001 - str -> str
    """Replace ``{to}``, ``{text}``, ``{id}`` only; other braces (JSON) stay as written."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", escape(value))
    return template


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _form_escape(value: str) -> str:
    return quote(value, safe="")


class HttpProvider:
    name = KEY

    def __init__(self, config: Config):
        s = config.section("sms.http")
        if not s["send_url"]:
            raise SmsError("sms.provider = 'http' needs sms.http.send_url")
        self.url, self.method = s["send_url"], (s["send_method"] or "POST").upper()
        self.body = s["send_body"]
        self.auth = os.environ.get(s["send_auth_env"], "") if s["send_auth_env"] else ""
        if s["send_auth_env"] and not self.auth:
            raise SmsError(f"sms.http.send_auth_env names env {s['send_auth_env']}, which is not set")
        self.success = words(s["success_status"]) or ["2xx"]
        self.response_id = s["response_id_field"]
        # No delivery reports configured: a handed-over text is final and blanked at once.
        self.blank_on_handover = not s["status_field"]
        self.http = session()

    def _taken(self, status: int) -> bool:
        return any(str(status) == w or (w.endswith("xx") and str(status)[0] == w[0]) for w in self.success)

    def send(self, outbound_id: int, to: str, body: str) -> str:
        values = {"to": to, "text": body, "id": our_id(outbound_id)}
        url = fill(self.url, values, _form_escape)
        headers = {"Authorization": self.auth} if self.auth else {}
        data: bytes | None = None
        if self.body and self.method != "GET":
            is_json = self.body.lstrip().startswith(("{", "["))
            data = fill(self.body, values, _json_escape if is_json else _form_escape).encode("utf-8")
            headers["Content-Type"] = ("application/json" if is_json
                                       else "application/x-www-form-urlencoded; charset=utf-8")
        response = http_send(self.http, "http aggregator", self.method, url, data=data, headers=headers)
        if not self._taken(response.status_code):
            raise Permanent(f"http aggregator HTTP {response.status_code}", str(response.status_code))
        if self.response_id:
            try:
                found = response.json().get(self.response_id)
            except (ValueError, AttributeError):
                found = None
            if found not in (None, ""):
                return str(found)
        return values["id"]

    def recover(self, row: dict[str, Any]) -> str | None:
        return None  # an aggregator cannot be asked in a standard way


def build(config: Config) -> HttpProvider:
    return HttpProvider(config)


# -- webhooks ---------------------------------------------------------------

def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


def authenticated() -> bool:
    secret = os.environ.get(SECRET_ENV, "")
    return bool(secret) and same(secret, request.args.get("secret"))


def fields(inbound_format: str) -> Mapping[str, Any] | None:
    """The request's fields, from a form or a JSON object as configured; None if unreadable."""
    if inbound_format == "json":
        try:
            data = json.loads(request.get_data() or b"null")
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
    return request.form


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name) if name else None
    return value if isinstance(value, str) else ("" if value is None else str(value))


@bp.post("/channels/sms/http")
def inbound() -> Response:
    if not authenticated():
        return _plain("Forbidden", 403)
    config = node_of(current_app).config.section("sms.http")
    data = fields(config["inbound_format"])
    if data is None:
        return _plain("a JSON object is required", 400)
    sender, text = _text(data, config["from_field"]).strip(), _text(data, config["text_field"])
    if not sender or len(text) > MAX_TEXT:
        return _plain(f"{config['from_field']} and {config['text_field']} are required", 400)
    message_id = _text(data, config["id_field"]).strip()[:200]
    if not message_id:  # no id from the aggregator: sender and text make the key
        message_id = hashlib.sha256(f"{sender}\x1f{text}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    handler: Handler = current_app.extensions["simpul_sms"]
    outcome = handler.handle(InboundSms(KEY, f"http:{message_id}", sender, text), queue_reply=True)
    return Response(json.dumps({"kind": outcome.kind, "duplicate": outcome.duplicate}),
                    mimetype="application/json")


@bp.post("/channels/sms/http/status")
def status() -> Response:
    if not authenticated():
        return _plain("Forbidden", 403)
    config = node_of(current_app).config.section("sms.http")
    if not config["status_field"]:
        return Response(status=204)  # reports not configured: nothing to do
    data = fields(config["inbound_format"])
    if data is None:
        return _plain("a JSON object is required", 400)
    provider_id = _text(data, config["status_id_field"]).strip()
    word = _text(data, config["status_field"]).strip()
    if not provider_id or not word:
        return _plain(f"{config['status_id_field']} and {config['status_field']} are required", 400)
    ours = ("delivered" if word.lower() in {w.lower() for w in words(config["delivered_values"])}
            else "failed" if word.lower() in {w.lower() for w in words(config["failed_values"])} else "sent")
    delivery.apply_callback(node_of(current_app).store, provider=KEY, provider_id=provider_id, status=ours,
                            error_code=word[:100] if ours == "failed" else None, outbound_id=row_of(provider_id))
    return Response(status=204)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
