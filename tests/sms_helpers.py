"""Shared helpers for the SMS tests: real RequestValidator signatures, Twilio-shaped forms."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET

from twilio.request_validator import RequestValidator

TOKEN = "test-twilio-auth-token-0123456789"
PHONE = "+6281234567890"
OTHER_PHONE = "+6285712345678"
NIK = "3201011708900001"
URL = "http://localhost/channels/sms/twilio"
STATUS_URL = "http://localhost/channels/sms/twilio/status"


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


def twilio_form(body: str, sender: str = PHONE, sid: str | None = None) -> dict[str, str]:
    sid = sid or new_sid()
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender,
            "To": "+15005550006", "Body": body, "NumMedia": "0", "NumSegments": "1"}


def sign(url: str, form: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def post_sms(client, body: str, sender: str = PHONE, sid: str | None = None, url: str = URL,
             signature: str | None = None):
    form = twilio_form(body, sender, sid)
    headers = {"X-Twilio-Signature": signature if signature is not None else sign(url, form)}
    return client.post(url.replace("http://localhost", ""), data=form, headers=headers)


def reply_text(response) -> str | None:
    """The <Message> text of a TwiML reply; None for an empty <Response/>."""
    root = ET.fromstring(response.data if hasattr(response, "data") else response.content)
    assert root.tag == "Response"
    message = root.find("Message")
    return None if message is None else message.text


def count(node, table: str) -> int:
    return node.store.read().execute(f"SELECT count(*) FROM {table}").fetchone()[0]
