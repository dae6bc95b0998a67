"""Sealing personal data at rest: envelopes, officer key slots, blind indexes.

Why this shape: intake (SMS, USSD) must work with no officer present, so the
node can *seal* without any secret — it only needs public keys — while
*opening* needs a private key the disk alone does not give away.

- Epoch sealing (request fields, notes, comments; see the "epoch sealing"
  section below): one ephemeral X25519 key per epoch, a per-record key from
  it, ChaCha20-Poly1305 with the record id and purpose bound in as
  associated data, so a sealed blob cannot be moved to another record.
- Envelope (``seal``/``open_sealed``, for key grants): a fresh content key
  wrapped for each recipient with an ephemeral X25519 key and HKDF-SHA256.
- Key slots: a key holder's X25519 private key is stored only wrapped under
  a key derived from their password with argon2id (cost chosen by the
  caller, ``gateway.privacy.keys``). Logging in unwraps it into memory.
- Blind index: HMAC-SHA256 of a normalized value under an index key, so the
  kiosk can find a request by NIK without the NIK being on disk in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.errors import SimpulError

VERSION = 1
KEY_ID_LEN = 8
_RAW = serialization.Encoding.Raw


class SealError(SimpulError):
    """A blob is damaged, was sealed for another record, or not for this key."""


def public_bytes(key: X25519PublicKey) -> bytes:
    return key.public_bytes(_RAW, serialization.PublicFormat.Raw)


def private_bytes(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def key_id(public: X25519PublicKey | bytes) -> bytes:
    raw = public if isinstance(public, bytes) else public_bytes(public)
    return hashlib.sha256(raw).digest()[:KEY_ID_LEN]


def _wrap_key(shared: bytes, eph_pub: bytes, recipient_pub: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=eph_pub + recipient_pub, info=b"simpul-seal-v1").derive(shared)


def seal(plaintext: bytes, recipients: list[X25519PublicKey], aad: bytes) -> bytes:
    """Encrypt ``plaintext`` so that any one of ``recipients`` can open it."""
    if not recipients:
        raise ValueError("seal needs at least one recipient")
    content_key = ChaCha20Poly1305.generate_key()
    ephemeral = X25519PrivateKey.generate()
    eph_pub = public_bytes(ephemeral.public_key())
    parts = [struct.pack("BB", VERSION, len(recipients)), eph_pub]
    for recipient in recipients:
        rpub = public_bytes(recipient)
        wrap = _wrap_key(ephemeral.exchange(recipient), eph_pub, rpub)
        # A fresh key per (record, recipient) makes a zero nonce safe here.
        parts.append(key_id(rpub) + ChaCha20Poly1305(wrap).encrypt(b"\0" * 12, content_key, aad))
    nonce = os.urandom(12)
    parts += [nonce, ChaCha20Poly1305(content_key).encrypt(nonce, plaintext, aad)]
    return b"".join(parts)


def open_sealed(blob: bytes, private: X25519PrivateKey, aad: bytes) -> bytes:
    """Decrypt a blob sealed for ``private``'s public key; SealError otherwise."""
    try:
        version, count = struct.unpack_from("BB", blob)
        if version != VERSION:
            raise SealError(f"unknown seal version {version}")
        eph_pub = blob[2:34]
        mine = key_id(private.public_key())
        offset, slot_len, content_key = 34, KEY_ID_LEN + 48, None
        for _ in range(count):
            slot = blob[offset:offset + slot_len]
            offset += slot_len
            if slot[:KEY_ID_LEN] == mine:
                shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
                wrap = _wrap_key(shared, eph_pub, public_bytes(private.public_key()))
                content_key = ChaCha20Poly1305(wrap).decrypt(b"\0" * 12, slot[KEY_ID_LEN:], aad)
        if content_key is None:
            raise SealError("not sealed for this key")
        nonce, body = blob[offset:offset + 12], blob[offset + 12:]
        return ChaCha20Poly1305(content_key).decrypt(nonce, body, aad)
    except (InvalidTag, struct.error, ValueError) as exc:
        raise SealError("sealed data is damaged or belongs to another record") from exc


# --- officer key slots ------------------------------------------------------

KDF_LANES = 1


@dataclass(frozen=True)
class KeySlot:
    salt: bytes
    nonce: bytes
    wrapped: bytes
    time_cost: int
    memory_kib: int
    lanes: int = KDF_LANES


def _kek(password: str, salt: bytes, time_cost: int, memory_kib: int, lanes: int) -> bytes:
    return hash_secret_raw(password.encode("utf-8"), salt, time_cost=time_cost, memory_cost=memory_kib,
                           parallelism=lanes, hash_len=32, type=Type.ID)


def make_slot(node_private: X25519PrivateKey, password: str, *, officer: str,
              time_cost: int, memory_kib: int) -> KeySlot:
    """Wrap a private key under ``password`` (argon2id at the given cost); the holder name is bound in."""
    salt, nonce = os.urandom(16), os.urandom(12)
    kek = _kek(password, salt, time_cost, memory_kib, KDF_LANES)
    wrapped = ChaCha20Poly1305(kek).encrypt(nonce, private_bytes(node_private), officer.encode())
    return KeySlot(salt, nonce, wrapped, time_cost, memory_kib, KDF_LANES)


def open_slot(slot: KeySlot, password: str, *, officer: str) -> X25519PrivateKey:
    kek = _kek(password, slot.salt, slot.time_cost, slot.memory_kib, slot.lanes)
    try:
        raw = ChaCha20Poly1305(kek).decrypt(slot.nonce, slot.wrapped, officer.encode())
    except InvalidTag:
        raise SealError("wrong password for this key slot") from None
    return X25519PrivateKey.from_private_bytes(raw)


# --- blind index --------------------------------------------------------------


def blind_index(index_key: bytes, kind: str, value: str) -> str:
    """Keyed, deterministic token for equality lookups (``kind`` separates NIK from phone)."""
    return hmac.new(index_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


# --- epoch sealing (what request fields use) -----------------------------------
#
# Intake seals many small records with no secret in hand. One ephemeral X25519
# key per *epoch* (a process run, at most EPOCH_RECORDS records) instead of per
# record keeps the per-record cost to an HMAC and one AEAD call and the wire
# overhead to a 16-byte tag (sync runs over 2G). The epoch's private key lives
# only in memory and is dropped when the epoch ends; its public key is stored
# (and sent with each sync batch) so a recipient can recompute the shared key.
# Each record key is HMAC(epoch key, aad): aad carries the record id and the
# copy's purpose, and a record is sealed at most once per epoch, so the zero
# nonce is never reused under one key.

EPOCH_VERSION = 2
EPOCH_HEADER = struct.Struct(">BI")  # version, epoch id


def _epoch_key(shared: bytes, epoch_pub: bytes, recipient_pub: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=epoch_pub + recipient_pub, info=b"simpul-epoch-v2").derive(shared)


def _record_key(epoch_key: bytes, aad: bytes) -> ChaCha20Poly1305:
    return ChaCha20Poly1305(hmac.new(epoch_key, b"record:" + aad, hashlib.sha256).digest())


class EpochSealer:
    """Seals records for one recipient under one epoch; no secret of the recipient needed."""

    def __init__(self, epoch_id: int, epoch_private: X25519PrivateKey, recipient: X25519PublicKey):
        self.epoch_id = epoch_id
        epoch_pub = public_bytes(epoch_private.public_key())
        self._key = _epoch_key(epoch_private.exchange(recipient), epoch_pub, public_bytes(recipient))

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        body = _record_key(self._key, aad).encrypt(b"\0" * 12, plaintext, aad)
        return EPOCH_HEADER.pack(EPOCH_VERSION, self.epoch_id) + body


def epoch_of(blob: bytes) -> int:
    """The epoch id a blob was sealed under; SealError if it is not an epoch blob."""
    try:
        version, epoch_id = EPOCH_HEADER.unpack_from(blob)
    except struct.error:
        raise SealError("sealed data is truncated") from None
    if version != EPOCH_VERSION:
        raise SealError(f"unknown seal version {version}")
    return epoch_id


class EpochOpener:
    """Opens many blobs with one private key, caching the per-epoch shared key."""

    def __init__(self, private: X25519PrivateKey, epoch_public: dict[int, bytes] | None = None):
        self.private = private
        self.public = public_bytes(private.public_key())
        self.epoch_public = epoch_public if epoch_public is not None else {}
        self._keys: dict[int, bytes] = {}

    def _key_for(self, epoch_id: int) -> bytes:
        key = self._keys.get(epoch_id)
        if key is None:
            pub = self.epoch_public.get(epoch_id)
            if pub is None:
                raise SealError(f"unknown seal epoch {epoch_id}")
            try:
                shared = self.private.exchange(X25519PublicKey.from_public_bytes(pub))
            except ValueError as exc:
                raise SealError("bad epoch public key") from exc
            key = self._keys[epoch_id] = _epoch_key(shared, pub, self.public)
        return key

    def open(self, blob: bytes, aad: bytes) -> bytes:
        key = self._key_for(epoch_of(blob))
        try:
            return _record_key(key, aad).decrypt(b"\0" * 12, blob[EPOCH_HEADER.size:], aad)
        except InvalidTag:
            raise SealError("sealed data is damaged, belongs to another record, or not to this key") from None


def index_key_from(node_private: X25519PrivateKey) -> bytes:
    """The blind-index key: derived from the node key, so it is never on disk in clear either."""
    return HKDF(hashes.SHA256(), 32, salt=b"", info=b"simpul-blind-index-v1").derive(private_bytes(node_private))
