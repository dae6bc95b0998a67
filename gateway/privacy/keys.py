"""The node's sealing keys on disk: who can unwrap them, and how.

Layout (see docs/security.md, "Keys"):

- ``node_keys``: the node's X25519 key pairs, by key id. Only the *public*
  half is stored in clear; intake seals with it and needs nothing else.
- ``key_holders``: one X25519 key pair per officer (and one for the recovery
  code, holder ``@recovery``). The holder's private key is stored only
  wrapped under a key derived from the holder's password with argon2id.
- ``key_grants``: the node's private key sealed to each holder's *public*
  key. Granting, rotating and resetting therefore need no one's password,
  only the node key of a session that holds it; a holder's password opens
  their own private key, which opens their grant.

So the node's private key is on disk only wrapped, transitively, under
officers' password-derived keys and the recovery code; it is in clear only
in the memory of a logged-in officer's session (``gateway.privacy.keyring``).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from gateway import clock
from gateway.errors import SimpulError
from gateway.privacy import sealing
from gateway.privacy.sealing import KeySlot, SealError

RECOVERY = "@recovery"
# Crockford base32 without I, L, O, U: 26 symbols carry 130 bits.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH = 26

NodeKeys = dict[str, X25519PrivateKey]  # key id (hex) -> private key

# An officer's slot costs what their password hash costs (argon2id, 19 MiB,
# t=2; channels/kiosk/accounts.py): the hash on the same disk is the cheaper
# way to test a guessed password, so a dearer slot would only slow logins.
# The recovery code carries 130 random bits; no guessing to slow down there.
OFFICER_KDF = {"time_cost": 2, "memory_kib": 19 * 1024}
RECOVERY_KDF = {"time_cost": 1, "memory_kib": 8 * 1024}


class KeyAccessError(SimpulError):
    """Key material is missing, or a password / recovery code does not open it."""


def key_id(public: X25519PublicKey | bytes) -> str:
    return sealing.key_id(public).hex()


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(raw[i:i + 5] for i in range(0, _CODE_LENGTH, 5))


def normalize_recovery_code(code: str) -> str:
    """Forgive case, spaces, dashes and the usual look-alikes (O->0, I/L->1)."""
    raw = code.upper().translate(str.maketrans("OIL", "011")).replace("-", "").replace(" ", "")
    return "-".join(raw[i:i + 5] for i in range(0, len(raw), 5))


# --- node keys ----------------------------------------------------------------


def current_key(db: sqlite_utils.Database) -> tuple[str, X25519PublicKey] | None:
    """(key id, public key) of the node key new records are sealed to."""
    row = db.execute("SELECT key_id, public FROM node_keys WHERE retired_at IS NULL "
                     "ORDER BY created_at DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return row[0], X25519PublicKey.from_public_bytes(row[1])


def provision(db: sqlite_utils.Database) -> str | None:
    """Create the node key and its recovery holder if there is none; the code, once.

    Returns the recovery code when it created the key (the caller shows it to
    the operator and forgets it), else None. Run inside a write job.
    """
    if current_key(db) is not None:
        return None
    private = X25519PrivateKey.generate()
    kid = key_id(private.public_key())
    db.execute("INSERT INTO node_keys (key_id, public, created_at) VALUES (?, ?, ?)",
               [kid, sealing.public_bytes(private.public_key()), clock.utcnow()])
    code = new_recovery_code()
    add_holder(db, RECOVERY, code)
    grant(db, RECOVERY, {kid: private})
    return code


# --- holders --------------------------------------------------------------------


def _slot_json(slot: KeySlot) -> str:
    b64 = base64.b64encode
    return json.dumps({"salt": b64(slot.salt).decode(), "nonce": b64(slot.nonce).decode(),
                       "wrapped": b64(slot.wrapped).decode(), "t": slot.time_cost,
                       "m": slot.memory_kib, "p": slot.lanes})


def _slot_from(text: str) -> KeySlot:
    d = json.loads(text)
    b64 = base64.b64decode
    return KeySlot(b64(d["salt"]), b64(d["nonce"]), b64(d["wrapped"]), d["t"], d["m"], d["p"])


def _secret(holder: str, password: str) -> str:
    return normalize_recovery_code(password) if holder == RECOVERY else password


def _make_slot(private: X25519PrivateKey, holder: str, password: str) -> KeySlot:
    params = RECOVERY_KDF if holder == RECOVERY else OFFICER_KDF
    return sealing.make_slot(private, _secret(holder, password), officer=holder, **params)


def add_holder(db: sqlite_utils.Database, name: str, password: str) -> X25519PrivateKey:
    """Give ``name`` a fresh key pair wrapped under ``password``; old grants end.

    A new pair (not a re-wrap) is what a password *reset* needs: the old
    password is unknown, and whatever it opened must stay closed.
    """
    private = X25519PrivateKey.generate()
    slot = _make_slot(private, name, password)
    now = clock.utcnow()
    db.execute("DELETE FROM key_grants WHERE holder = ?", [name])
    db.execute(
        "INSERT INTO key_holders (name, public, slot, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET public = excluded.public, slot = excluded.slot, "
        "updated_at = excluded.updated_at",
        [name, sealing.public_bytes(private.public_key()), _slot_json(slot), now, now],
    )
    return private


def change_password(db: sqlite_utils.Database, name: str, old: str, new: str) -> None:
    """Re-wrap the holder's own private key (grants stay valid)."""
    private = _open_holder(db, name, old)
    slot = _make_slot(private, name, new)
    db.execute("UPDATE key_holders SET slot = ?, updated_at = ? WHERE name = ?",
               [_slot_json(slot), clock.utcnow(), name])


def remove_holder(db: sqlite_utils.Database, name: str) -> None:
    db.execute("DELETE FROM key_grants WHERE holder = ?", [name])
    db.execute("DELETE FROM key_holders WHERE name = ?", [name])


def _open_holder(db: sqlite_utils.Database, name: str, password: str) -> X25519PrivateKey:
    row = db.execute("SELECT slot FROM key_holders WHERE name = ?", [name]).fetchone()
    if row is None:
        raise KeyAccessError(f"{name} holds no key")
    try:
        return sealing.open_slot(_slot_from(row[0]), _secret(name, password), officer=name)
    except SealError:
        raise KeyAccessError(f"the password does not open {name}'s key") from None


def _grant_aad(holder: str, kid: str) -> bytes:
    return f"grant|{holder}|{kid}".encode()


def grant(db: sqlite_utils.Database, holder: str, node_keys: Mapping[str, X25519PrivateKey]) -> int:
    """Seal each node key to ``holder``'s public key; returns how many were granted."""
    row = db.execute("SELECT public FROM key_holders WHERE name = ?", [holder]).fetchone()
    if row is None:
        raise KeyAccessError(f"{holder} holds no key")
    public = X25519PublicKey.from_public_bytes(row[0])
    now = clock.utcnow()
    for kid, private in node_keys.items():
        sealed = sealing.seal(sealing.private_bytes(private), [public], _grant_aad(holder, kid))
        db.execute("INSERT INTO key_grants (holder, key_id, sealed, granted_at) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT(holder, key_id) DO UPDATE SET sealed = excluded.sealed, "
                   "granted_at = excluded.granted_at", [holder, kid, sealed, now])
    return len(node_keys)


def ungranted(db: sqlite_utils.Database) -> list[str]:
    """Holders without a grant for the current node key (added while no key was at hand)."""
    current = current_key(db)
    if current is None:
        return []
    return [r[0] for r in db.execute(
        "SELECT name FROM key_holders h WHERE NOT EXISTS (SELECT 1 FROM key_grants g "
        "WHERE g.holder = h.name AND g.key_id = ?) ORDER BY name", [current[0]]).fetchall()]


def unlock(db: sqlite_utils.Database, holder: str, password: str) -> NodeKeys:
    """The node keys ``holder`` was granted; KeyAccessError if the password is wrong.

    An empty dict means the holder exists but has no grant yet.
    """
    private = _open_holder(db, holder, password)
    keys: NodeKeys = {}
    for kid, sealed in db.execute("SELECT key_id, sealed FROM key_grants WHERE holder = ?", [holder]).fetchall():
        try:
            raw = sealing.open_sealed(sealed, private, _grant_aad(holder, kid))
        except SealError:
            continue  # a grant sealed to an older key pair of this holder
        keys[kid] = X25519PrivateKey.from_private_bytes(raw)
    return keys


def recover(db: sqlite_utils.Database, code: str) -> NodeKeys:
    """The node keys, opened with the recovery code; KeyAccessError if it is wrong."""
    keys = unlock(db, RECOVERY, code)
    if not keys:
        raise KeyAccessError("the recovery holder has no grant")
    return keys


def status(db: sqlite_utils.Database) -> dict[str, Any]:
    """What `simpul keys status` shows: no secret, only ids and who holds what."""
    current = current_key(db)
    holders = [dict(name=r[0], granted=bool(r[1])) for r in db.execute(
        "SELECT h.name, EXISTS (SELECT 1 FROM key_grants g WHERE g.holder = h.name AND g.key_id = ?) "
        "FROM key_holders h ORDER BY h.name", [current[0] if current else ""]).fetchall()]
    return {"node_key": current[0] if current else None, "holders": holders,
            "retired_keys": [r[0] for r in db.execute(
                "SELECT key_id FROM node_keys WHERE retired_at IS NOT NULL ORDER BY created_at")]}
