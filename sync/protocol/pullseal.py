"""Pulled notes sealed to a key the node makes for that one pull: never readable on the wire.

Why: a case worker's note (which may hold a phone number, an address, the
reason for a refusal) crossed the network in clear when ``sync.url`` was
``http://``. The node now makes an X25519 key pair for each pull, puts the
public half in the pull request (which the HMAC signature covers, so nobody
on the way can swap it), and the regional server seals each row's note to
it under one fresh epoch per answer (``gateway.privacy.sealing.EpochSealer``:
one X25519 per answer, an AEAD tag per row, the event id bound in). The node
opens the notes in memory with the private half, which it then drops: the
unattended sync job can read them (citizens' SMS are sent from them), and a
recording of the traffic cannot, even with the node's disk.

An older node sends no key: it gets the old columns, notes in clear, and
never an internal note (it would have sent it to the citizen).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from gateway.privacy.sealing import EpochOpener, EpochSealer, SealError, public_bytes
from sync.errors import ProtocolError
from sync.protocol import wire

KEY_FIELD = "seal_to"  # in the pull request: the node's public key for this pull (base64)
EPOCH_FIELD = "seal_epoch"  # in the answer: the server's epoch public key (base64)
EPOCH_ID = 1
# Old format (a node that sends no key): notes in clear, internal ones left out.
PULL_COLS_V1 = wire.PULL_COLS
PULL_COLS = ("cursor", "id", "request_id", "status", "actor", "at", "internal", "note_sealed")


def aad(event_id: str) -> bytes:
    """Binds a sealed note to its event: a blob moved to another row does not open."""
    return b"simpul-pull-note|" + event_id.encode("utf-8")


def new_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def request_fields(key: X25519PrivateKey) -> dict[str, str]:
    """What the node adds to its pull request."""
    return {KEY_FIELD: base64.b64encode(public_bytes(key.public_key())).decode("ascii")}


def node_key(message: Any) -> X25519PublicKey | None:
    """The key a pull request asks notes to be sealed to; None for an older node; ProtocolError on junk."""
    raw = message.get(KEY_FIELD) if isinstance(message, dict) else None
    if raw is None:
        return None
    blob = wire.unb64(raw, KEY_FIELD)
    if blob is None or len(blob) != 32:
        raise ProtocolError(f"{KEY_FIELD} must be a base64 X25519 public key (32 bytes)")
    return X25519PublicKey.from_public_bytes(blob)


def answer(rows: list[dict[str, Any]], key: X25519PublicKey | None, **extra: Any) -> dict[str, Any]:
    """The pull answer for ``rows`` (dicts with PULL_COLS_V1 and ``internal``)."""
    if key is None:
        old = [[r["cursor"], r["id"], r["request_id"], r["status"], r["actor"], r["at"],
                None if r.get("internal") else r["note"]] for r in rows]
        return wire.table(PULL_COLS_V1, old, **extra)
    epoch = X25519PrivateKey.generate()
    sealer = EpochSealer(EPOCH_ID, epoch, key)
    out = []
    for r in rows:
        sealed = None
        if r["note"] is not None:
            sealed = wire.b64(sealer.seal(json.dumps({"note": r["note"]}, ensure_ascii=False).encode(),
                                          aad(r["id"])))
        out.append([r["cursor"], r["id"], r["request_id"], r["status"], r["actor"], r["at"],
                    bool(r.get("internal")), sealed])
    return wire.table(PULL_COLS, out, **extra,
                      **{EPOCH_FIELD: base64.b64encode(public_bytes(epoch.public_key())).decode("ascii")})


def open_answer(message: Any, key: X25519PrivateKey) -> list[dict[str, Any]]:
    """Rows of a pull answer with ``note`` opened and ``internal`` set (an old server's too)."""
    if isinstance(message, dict) and message.get("cols") == list(PULL_COLS_V1):
        rows = wire.rows_of(message, PULL_COLS_V1)
        for r in rows:
            r["internal"] = False
        return rows
    rows = wire.rows_of(message, PULL_COLS)
    epoch = wire.unb64(message.get(EPOCH_FIELD), EPOCH_FIELD)
    if epoch is None or len(epoch) != 32:
        raise ProtocolError(f"{EPOCH_FIELD} must be a base64 X25519 public key (32 bytes)")
    opener = EpochOpener(key, {EPOCH_ID: epoch})
    for r in rows:
        if not isinstance(r["internal"], bool) or not isinstance(r["id"], str):
            raise ProtocolError("pulled rows need a string id and a boolean internal")
        blob = wire.unb64(r.pop("note_sealed"), "note_sealed")
        r["note"] = None
        if blob is not None:
            try:
                opened = json.loads(opener.open(blob, aad(r["id"])))
            except (SealError, ValueError):
                raise ProtocolError("a pulled note does not open with this pull's key") from None
            note = opened.get("note") if isinstance(opened, dict) else None
            if not isinstance(note, str):
                raise ProtocolError("a pulled note is not text")
            r["note"] = note
    return rows
