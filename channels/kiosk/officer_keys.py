"""Officers' key slots at the kiosk: who may open personal data, and when.

Each officer is a key holder (``gateway.privacy.keys``) named by their username, with
a private key wrapped under the same password they log in with. The node's
private key reaches an officer only as a *grant* sealed to that holder's
public key, so granting needs no one's password, only some session (or the
recovery code) that already holds the node key:

- ``simpul officer add`` makes the holder; it grants when the recovery code
  is given, else the officer waits.
- A login opens the officer's grant into the session's keyring entry; a
  session that holds the current node key grants every waiting holder.
- Switching an officer off removes their holder (every grant with it) and
  marks the account ``key_revoked``: switching it back on does not bring the
  key back, only a password reset does (a password that may be known must
  never reopen the data).

All ``db`` functions run inside a write job unless they say otherwise.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from gateway.privacy import audit, keys
from gateway.privacy.keys import KeyAccessError, NodeKeys


def holds_current(db: sqlite_utils.Database, node_keys: NodeKeys | None) -> bool:
    """Whether ``node_keys`` contain the key new records are sealed to (a read)."""
    current = keys.current_key(db)
    return bool(node_keys) and current is not None and current[0] in node_keys


def make_holder(db: sqlite_utils.Database, username: str, password: str, *, actor: str,
                grant_with: NodeKeys | None = None) -> bool:
    """A fresh key pair for ``username`` (old grants end); granted at once when ``grant_with``
    holds the current node key. Returns whether it was granted."""
    keys.add_holder(db, username, password)
    db.execute("UPDATE officers SET key_revoked = 0 WHERE username = ?", [username])
    if grant_with and holds_current(db, grant_with):
        keys.grant(db, username, grant_with)
        audit.append(db, actor=actor, action=audit.KEY_GRANTED, subject=username)
        return True
    return False


def grant_waiting(db: sqlite_utils.Database, node_keys: NodeKeys, *, actor: str) -> list[str]:
    """Grant the node key to every holder still waiting for it; returns their names."""
    if not holds_current(db, node_keys):
        return []
    granted = []
    for holder in keys.ungranted(db):
        keys.grant(db, holder, node_keys)
        audit.append(db, actor=actor, action=audit.KEY_GRANTED, subject=holder)
        granted.append(holder)
    return granted


def revoke(db: sqlite_utils.Database, username: str, *, actor: str) -> None:
    """Remove the officer's holder and grants; only a password reset gives a key again."""
    keys.remove_holder(db, username)
    db.execute("UPDATE officers SET key_revoked = 1 WHERE username = ?", [username])
    audit.append(db, actor=actor, action=audit.KEY_REMOVED, subject=username)


def open_for_login(db: sqlite_utils.Database, username: str, password: str) -> NodeKeys | None:
    """The node keys the officer's grant opens (a read; costs one argon2 derivation).

    None when the officer has no usable holder: one created before sealing
    existed, or whose slot the (already verified) password no longer opens.
    The caller then makes one with :func:`holder_at_login` in its write job.
    """
    try:
        return keys.unlock(db, username, password)
    except KeyAccessError:
        return None


def holder_at_login(db: sqlite_utils.Database, username: str, password: str) -> None:
    """Give an officer without a usable holder one from the password just verified, ungranted.

    Not for a revoked officer: their key comes back only with a reset.
    """
    revoked = db.execute("SELECT key_revoked FROM officers WHERE username = ?", [username]).fetchone()
    if revoked is None or revoked[0]:
        return
    keys.add_holder(db, username, password)


def rewrap(db: sqlite_utils.Database, username: str, current: str, new: str) -> str:
    """The officer's own password change: their slot re-wrapped under ``new``, grants kept.

    Returns "rewrapped"; "new" when there was no slot the current password
    opens (one is made from ``new``, ungranted, as at login); "none" for a
    revoked officer, whose key comes back only with a reset.
    """
    try:
        keys.change_password(db, username, current, new)
        return "rewrapped"
    except KeyAccessError:
        pass
    revoked = db.execute("SELECT key_revoked FROM officers WHERE username = ?", [username]).fetchone()
    if revoked is None or revoked[0]:
        return "none"
    keys.add_holder(db, username, new)
    return "new"


def live_sessions(db: sqlite_utils.Database) -> set[str]:
    """Id hashes of every session still in the table (a read): what the keyring may keep."""
    return {r[0] for r in db.execute("SELECT id_hash FROM kiosk_sessions").fetchall()}


def sweep(node: Any) -> None:
    """Forget the keys of every session that no longer exists (ended, expired, switched off)."""
    node.keyring.keep_only(live_sessions(node.store.read()))


def key_state(db: sqlite_utils.Database) -> dict[str, str]:
    """username -> "granted" | "waiting" | "none" for the admin's officer list (a read)."""
    status = {h["name"]: h["granted"] for h in keys.status(db)["holders"]}
    return {name: ("granted" if status[name] else "waiting") if name in status else "none"
            for (name,) in db.execute("SELECT username FROM officers").fetchall()}
