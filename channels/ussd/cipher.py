"""A per-process key for the USSD channel's own short-lived rows.

A USSD session row holds what the caller typed (NIK, name, address) for a
few minutes: the menu state, the last screen sent (a confirm screen repeats
every value) and the draft of an unfinished form. Nobody but this process
ever needs to read them again, so they are sealed with a key that exists
only in memory: random at start, never written anywhere. A disk taken from
a powered-off node therefore holds only ciphertext, and the key dies with
the process. The price is deliberate: after a restart, sessions and drafts
cannot be opened and are treated exactly like expired ones.

The aggregator's accumulated ``text`` ("1*3201...*Siti") is only ever
compared, so it is stored as an HMAC under a second in-memory key; the
newest input is found by hashing each ``*``-prefix of the incoming text
(see ``find_prefix``).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from channels.ussd.errors import UssdError

NONCE_BYTES = 12


class Unreadable(UssdError):
    """A sealed value this process cannot open: sealed before a restart, or damaged."""


class ProcessCipher:
    """ChaCha20-Poly1305 + HMAC-SHA256 under keys that live only in this object."""

    def __init__(self) -> None:
        self._aead = ChaCha20Poly1305(ChaCha20Poly1305.generate_key())
        self._mac_key = os.urandom(32)

    def seal(self, text: str, aad: str) -> bytes:
        """nonce || ciphertext+tag; ``aad`` binds the blob to its table, column and row."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, text.encode("utf-8"), aad.encode("utf-8"))

    def open(self, blob: bytes | str | None, aad: str) -> str:
        if not isinstance(blob, bytes) or len(blob) <= NONCE_BYTES:
            raise Unreadable("not a sealed value")  # e.g. a plaintext row from before this scheme
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode("utf-8")).decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise Unreadable("sealed by another process or damaged") from None

    def _mac(self, scope: str) -> hmac.HMAC:
        return hmac.new(self._mac_key, scope.encode("utf-8") + b"\0", hashlib.sha256)

    def digest(self, scope: str, text: str) -> str:
        """Keyed hash of ``text`` within ``scope`` (e.g. a session id): comparable, not reversible."""
        mac = self._mac(scope)
        mac.update(text.encode("utf-8"))
        return mac.hexdigest()

    def find_prefix(self, scope: str, text: str, digest: str, separator: str = "*") -> int | None:
        """The length of the prefix of ``text`` whose digest is ``digest`` and that a ``separator`` follows.

        One pass: the HMAC state is copied at each separator, so an 8,000
        character text costs one hash of it, not one per prefix.
        """
        mac = self._mac(scope)
        start = 0
        while True:
            at = text.find(separator, start)
            if at < 0:
                return None
            mac.update(text[start:at].encode("utf-8"))
            if hmac.compare_digest(mac.copy().hexdigest(), digest):
                return at
            # the separator itself belongs to every longer prefix
            mac.update(text[at:at + len(separator)].encode("utf-8"))
            start = at + len(separator)
