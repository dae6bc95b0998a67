"""The enrolment token: everything a blank node needs to join, on one line.

``simpul regional enrol-node`` prints it, ``simpul node join`` reads it. It is
base64url (no padding) of a small binary record ending in a 4-byte check, so a
mistyped or truncated token is refused before any network call:

    b"SJ" | version | expires (u32, Unix s) | catalog version (u32)
    | regional public sealing key (32) | one-time code (16)
    | url, node id, name (each: u8 length + UTF-8) | sha256(...)[:4]

It carries no secret that opens anything by itself: the one-time code only
lets the holder ask the regional server, once and before expiry, for the
node's HMAC secret sealed to a key pair the node makes on the spot
(``sync.regional.enrol``). A token that leaks after use is worthless.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from gateway.i18n import Message
from sync.errors import SyncError

MAGIC = b"SJ"
VERSION = 1
CODE_LEN = 16
KEY_LEN = 32
CHECK_LEN = 4
MAX_CHARS = 600
_HEAD = struct.Struct(">2sBII")
ENROL_PATH = "/sync/v1/enrol"


class TokenError(SyncError):
    """The token is damaged, mistyped, of another version or expired; ``message`` is translatable."""

    def __init__(self, message: Message):
        super().__init__(message.render("en"))
        self.message = message


@dataclass(frozen=True)
class Token:
    url: str
    node_id: str
    name: str
    regional_key: bytes  # X25519 public sealing key, raw
    catalog_version: int
    expires: int  # Unix seconds, UTC
    code: bytes  # one-time enrolment code

    @property
    def regional_key_b64(self) -> str:
        return base64.b64encode(self.regional_key).decode("ascii")

    def encode(self) -> str:
        if len(self.regional_key) != KEY_LEN or len(self.code) != CODE_LEN:
            raise TokenError(Message("regional key must be 32 bytes and the code 16"))
        body = _HEAD.pack(MAGIC, VERSION, self.expires, self.catalog_version) + self.regional_key + self.code
        for text in (self.url, self.node_id, self.name):
            raw = text.encode("utf-8")
            if len(raw) > 255:
                raise TokenError(Message("%(text)s...: too long for a token (at most 255 bytes)", text=text[:20]))
            body += bytes([len(raw)]) + raw
        body += hashlib.sha256(body).digest()[:CHECK_LEN]
        token = base64.urlsafe_b64encode(body).rstrip(b"=").decode("ascii")
        if len(token) >= MAX_CHARS:
            raise TokenError(Message("the token would be %(n)d characters; shorten the URL or the name",
                                     n=len(token)))
        return token


def decode(text: str) -> Token:
    """Parse and check a token; :class:`TokenError` says what is wrong (never a traceback)."""
    text = "".join(text.split())  # a token pasted across lines or with spaces still reads
    if not text or len(text) >= MAX_CHARS:
        raise TokenError(Message("this is not an enrolment token (empty or too long)"))
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise TokenError(Message("this is not an enrolment token (not base64url)")) from None
    if len(raw) < _HEAD.size + KEY_LEN + CODE_LEN + 3 + CHECK_LEN:
        raise TokenError(Message("the token is too short: it was cut off when copied"))
    body, check = raw[:-CHECK_LEN], raw[-CHECK_LEN:]
    if hashlib.sha256(body).digest()[:CHECK_LEN] != check:
        raise TokenError(Message("the token is damaged (check failed): copy it again exactly"))
    magic, version, expires, catalog_version = _HEAD.unpack_from(body)
    if magic != MAGIC:
        raise TokenError(Message("this is not a Simpul enrolment token"))
    if version != VERSION:
        raise TokenError(Message("enrolment token version %(v)d is not supported by this Simpul", v=version))
    offset = _HEAD.size
    key = body[offset:offset + KEY_LEN]
    code = body[offset + KEY_LEN:offset + KEY_LEN + CODE_LEN]
    offset += KEY_LEN + CODE_LEN
    texts = []
    try:
        for _ in range(3):
            n = body[offset]
            texts.append(body[offset + 1:offset + 1 + n].decode("utf-8"))
            offset += 1 + n
    except (IndexError, UnicodeDecodeError):
        raise TokenError(Message("the token is damaged (fields do not fit)")) from None
    if offset != len(body) or not texts[0] or not texts[1]:
        raise TokenError(Message("the token is damaged (fields do not fit)"))
    return Token(url=texts[0], node_id=texts[1], name=texts[2], regional_key=key,
                 catalog_version=catalog_version, expires=expires, code=code)


def code_hash(code: bytes) -> str:
    """What the regional server stores: the code itself never rests on its disk."""
    return hashlib.sha256(b"simpul-enrol-v1|" + code).hexdigest()


def secret_aad(node_id: str) -> bytes:
    """Binds the sealed secret to the node it was issued for."""
    return b"simpul-enrol-secret|" + node_id.encode("utf-8")
