"""Outbound SMS providers: Twilio REST and a Gammu SMSD outbox folder.

A provider's ``send`` returns the provider's message id, or raises:

- ``Retryable``: nothing was handed over (HTTP 429/5xx answered): safe to
  try again later.
- ``Offline`` (a ``Retryable``): the provider could not even be reached (no
  route, DNS, connection refused): the node is offline. Not counted as an
  attempt - an offline-first node keeps its messages until the link returns.
- ``Permanent``: the provider refused this message (bad number, ...).
- ``Unknown``: the request may have reached the provider but we never saw
  the answer (read timeout, connection dropped mid-response). Not resent
  automatically: "never the same notification twice" wins over "retry".
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

import requests

from channels.sms.errors import SmsError
from gateway import clock
from gateway.config.loader import Config

TWILIO_TIMEOUT = 30  # seconds; well under delivery.LEASE_SECONDS


class SendError(SmsError):
    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class Retryable(SendError):
    pass


class Offline(Retryable):
    pass


class Permanent(SendError):
    pass


class Unknown(SendError):
    pass


class TwilioProvider:
    name = "twilio"

    def __init__(self, config: Config, token: str):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        twilio = config.section("sms.twilio")
        if not twilio["account_sid"] or not twilio["from_number"]:
            raise SmsError("sms.provider = 'twilio' needs sms.twilio.account_sid and sms.twilio.from_number")
        # Message bodies and numbers are personal data: keep the library's
        # request logging quiet whatever the root logger level is.
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        http = TwilioHttpClient(timeout=TWILIO_TIMEOUT)
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
            if _never_connected(exc):
                raise Offline("twilio: cannot connect (offline?)") from None
            raise Unknown("twilio: connection lost before the answer; outcome unknown") from None
        except requests.exceptions.Timeout:
            raise Unknown("twilio: no answer in time; outcome unknown") from None
        return message.sid


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    text = repr(exc)
    return any(word in text for word in ("NewConnectionError", "Connection refused", "Name or service",
                                        "Temporary failure in name resolution", "Network is unreachable"))


def outbox_name(outbound_id: int, to: str, now_iso: str | None = None) -> str:
    """``OUTC<date>_<time>_00_<number>_simpul<id>.txt``: Gammu's named outbox form.

    The note part carries our row id, so after a crash we can tell whether a
    file for this row was already handed to smsd (see GammuProvider.handed_over).
    """
    stamp = (now_iso or clock.utcnow()).replace("-", "").replace(":", "")
    date, _, time = stamp.rstrip("Z").partition("T")
    number = re.sub(r"[^0-9+]", "", to)
    return f"OUTC{date}_{time}_00_{number}_simpul{outbound_id}.txt"


class GammuProvider:
    """Hands a message to gammu-smsd by writing a file into its outbox folder."""

    name = "gammu"

    def __init__(self, config: Config):
        path = config["sms.gammu.outbox_path"]
        if not path:
            raise SmsError("sms.provider = 'gammu' needs sms.gammu.outbox_path")
        self.outbox = Path(path)

    def send(self, outbound_id: int, to: str, body: str) -> str:
        name = outbox_name(outbound_id, to)
        try:
            self.outbox.mkdir(parents=True, exist_ok=True)
            # Write beside, then rename: smsd must never read a half file.
            # UTF-16 with BOM so any text (UCS-2 or GSM-7) survives.
            fd, tmp = tempfile.mkstemp(prefix=".simpul-", dir=self.outbox)
            with os.fdopen(fd, "wb") as fh:
                fh.write(b"\xff\xfe" + body.encode("utf-16-le"))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.outbox / name)
        except OSError as exc:
            raise Retryable(f"gammu outbox: {exc.strerror or exc}") from None
        return name


def build(config: Config) -> TwilioProvider | GammuProvider | None:
    """The configured outbound provider, or None (messages stay queued)."""
    provider = config["sms.provider"].strip().lower()
    if not provider:
        return None
    if provider == "twilio":
        token = os.environ.get("SIMPUL_TWILIO_AUTH_TOKEN", "")
        if not token:
            raise SmsError("sms.provider = 'twilio' needs env SIMPUL_TWILIO_AUTH_TOKEN")
        return TwilioProvider(config, token)
    if provider == "gammu":
        return GammuProvider(config)
    raise SmsError(f"sms.provider: unknown provider {provider!r} (use '', 'twilio' or 'gammu')")
