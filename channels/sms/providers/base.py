"""What every SMS provider module offers, and the errors its ``send`` raises.

A provider module (``channels/sms/providers/<key>.py``) defines ``KEY``,
``build(config)`` returning a :class:`Provider` for outbound SMS, and
``init_app(app)`` hanging its inbound routes (webhook or nothing for a swept
inbox) on the node app. Inbound routes always exist, whatever
``[sms] provider`` names: each answers 403 until its own secret is set.

``send`` returns the provider's message id, or raises:

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

from typing import Any, Protocol

import requests

from channels.sms.errors import SmsError

HTTP_TIMEOUT = 30  # seconds; well under delivery.LEASE_SECONDS


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


NOT_HANDED_OVER = ""  # what ``recover`` answers when it knows the message never left


class Provider(Protocol):
    """An outbound provider as the sender sees it."""

    name: str
    # True when the provider never reports delivery: a handed-over text can then
    # never become resendable, so it is blanked at once (docs/sms.md).
    blank_on_handover: bool

    def send(self, outbound_id: int, to: str, body: str) -> str: ...

    def recover(self, row: dict[str, Any]) -> str | None:
        """For a row a crashed sender left in ``sending``: the provider id if it was handed over.

        ``NOT_HANDED_OVER`` means it surely was not (queued again); None means
        "cannot tell": the row becomes failed "outcome unknown".
        """
        ...


def our_id(outbound_id: int) -> str:
    """The id we give a message where a provider lets us name it; reports then name our row."""
    return f"simpul-{outbound_id}"


def row_of(provider_id: str) -> int | None:
    """Our row id back from :func:`our_id`, else None."""
    prefix, _, number = provider_id.partition("-")
    return int(number) if prefix == "simpul" and number.isdigit() else None


def never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    text = repr(exc)
    return any(word in text for word in ("NewConnectionError", "Connection refused", "Name or service",
                                        "Temporary failure in name resolution", "Network is unreachable"))


def http_send(session: requests.Session, label: str, method: str, url: str, **kwargs: Any) -> requests.Response:
    """One HTTP hand-over with the error classes above; the caller judges the answer's status."""
    try:
        response = session.request(method, url, timeout=HTTP_TIMEOUT, allow_redirects=False, **kwargs)
    except requests.exceptions.ConnectTimeout:
        raise Offline(f"{label}: connect timeout (offline?)") from None
    except requests.exceptions.ConnectionError as exc:
        if never_connected(exc):
            raise Offline(f"{label}: cannot connect (offline?)") from None
        raise Unknown(f"{label}: connection lost before the answer; outcome unknown") from None
    except requests.exceptions.Timeout:
        raise Unknown(f"{label}: no answer in time; outcome unknown") from None
    except requests.exceptions.RequestException as exc:
        raise Permanent(f"{label}: {type(exc).__name__}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise Retryable(f"{label} HTTP {response.status_code}", str(response.status_code))
    return response


def session() -> requests.Session:
    """A requests session that never goes through an environment proxy (LAN phones, local aggregators)."""
    s = requests.Session()
    s.trust_env = False
    return s
