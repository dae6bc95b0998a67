"""Constant-time comparison of tokens and signatures, on bytes only.

``hmac.compare_digest`` raises ``TypeError`` for a ``str`` that is not ASCII,
so a token field holding "é" used to end in HTTP 500 with a traceback. Every
token, CSRF value and signature a client sends is compared here instead: a
value that is not ASCII (or not text at all) simply does not match.
"""

from __future__ import annotations

import hmac

MAX_TOKEN = 4096  # no genuine token or signature is longer; a longer one is not compared


def _ascii(value: str | bytes) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("ascii")
        except UnicodeEncodeError:
            return None
    return None


def same(expected: str | bytes, sent: object) -> bool:
    """True only when ``sent`` is exactly ``expected``; never raises."""
    if not isinstance(sent, str | bytes) or len(sent) > MAX_TOKEN:
        return False
    want, got = _ascii(expected), _ascii(sent)
    if want is None or got is None:
        return False
    return hmac.compare_digest(want, got)
