"""Node HMAC secrets sealed at rest under the regional server's key file.

A copy of ``regional.db`` (or a PostgreSQL dump) must not let its reader sign
pushes as any village. Each node's secret is stored as
``sealed:v1:<key id>:<base64 nonce+ciphertext>``: ChaCha20-Poly1305 under a
key derived (HKDF-SHA256) from one of this server's X25519 sealing keys, with
the node id as associated data, so a sealed secret copied onto another node's
row does not open. The key id names which key sealed it, so a ``seal-key
--rotate`` keeps old secrets working while the old key stays in the file.
Values without the prefix are clear secrets from before this (or written by a
tool opened without the keys); ``RegionalStore.seal_node_secrets`` seals them
when the server or a CLI command opens the store with its keys.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.privacy import sealing
from sync.errors import RegionalError
from sync.regional.sealkeys import RegionalKeys, key_id_hex

PREFIX = "sealed:v1:"
_INFO = b"simpul regional node secrets v1"


class SecretUnopenable(RegionalError):
    """A stored node secret cannot be opened with the keys this server holds."""


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def _box(private_key: object) -> ChaCha20Poly1305:
    raw = sealing.private_bytes(private_key)  # type: ignore[arg-type]
    return ChaCha20Poly1305(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(raw))


def seal(keys: RegionalKeys, node_id: str, secret: str) -> str:
    current = keys.current
    nonce = os.urandom(12)
    blob = nonce + _box(current).encrypt(nonce, secret.encode("utf-8"), node_id.encode("utf-8"))
    kid = key_id_hex(sealing.public_bytes(current.public_key()))
    return f"{PREFIX}{kid}:{base64.b64encode(blob).decode('ascii')}"


def open_secret(keys: RegionalKeys | None, node_id: str, stored: str) -> str:
    """The node's secret: opened when sealed, as is when stored clear."""
    if not is_sealed(stored):
        return stored
    if keys is None:
        raise SecretUnopenable("node secrets are sealed: this needs the regional sealing key")
    kid, _, data = stored[len(PREFIX):].partition(":")
    key = keys.by_id().get(kid)
    if key is None:
        raise SecretUnopenable(f"node {node_id}: its secret is sealed to a regional key this server no longer holds")
    try:
        blob = base64.b64decode(data, validate=True)
        return _box(key).decrypt(blob[:12], blob[12:], node_id.encode("utf-8")).decode("utf-8")
    except (ValueError, InvalidTag):
        raise SecretUnopenable(f"node {node_id}: its sealed secret is damaged or belongs to another node") from None
