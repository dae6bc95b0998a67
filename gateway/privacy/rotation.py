"""Rotating the node key: a new key pair, every node copy re-sealed, the old key gone.

Why rotate: an officer who leaves had the node key in memory; a laptop that
ran the kiosk may have been imaged. Rotation needs the current node key
(an officer's password or the recovery code) but no one else's password:
grants are sealed to holders' *public* keys (``gateway.privacy.keys``).

Order matters for a crash at any point:
1. one write: the new key is current, the old one retired; every holder
   (officers and ``@recovery``) is granted the new key; the blind index is
   reset (its key derives from the node key);
2. node copies are re-sealed in batches (compare-and-set on the blob, so a
   purge or a concurrent change wins); the old key's grants stay until
3. a pass finds nothing left under the old key: then its grants are deleted
   and the old private key exists nowhere on disk.
A crash before 3 leaves both keys granted; running the rotation again
(``resume``) picks up where it stopped. Regional copies are not touched:
they are sealed to the regional key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway import clock
from gateway.privacy import audit, keys, lookup, sealing
from gateway.privacy.sealing import SealError

BATCH = 200
# (table, id column, node-copy column, purpose): every node copy sealed by
# the vault. Parts that seal more append here (notes, feedback).
SEALED_COLUMNS: list[tuple[str, str, str, str]] = [
    ("requests", "id", "sealed", "fields"),
    ("feedback", "request_id", "comment_sealed", "feedback"),
    ("status_events", "id", "note_sealed", "note"),
    ("inbox", "uid", "text_sealed", "inbox"),
]


@dataclass
class Rotation:
    old: list[str]
    new: str
    resealed: int = 0
    unreadable: int = 0


def start(db: sqlite_utils.Database, held: keys.NodeKeys, actor: str) -> tuple[str, X25519PrivateKey]:
    """Step 1 (inside a write job): make a new current key and grant it to every holder."""
    current = keys.current_key(db)
    if current is None or current[0] not in held:
        raise keys.KeyAccessError("rotating needs the current node key")
    private = X25519PrivateKey.generate()
    kid = keys.key_id(private.public_key())
    now = clock.utcnow()
    db.execute("UPDATE node_keys SET retired_at = ? WHERE retired_at IS NULL", [now])
    db.execute("INSERT INTO node_keys (key_id, public, created_at) VALUES (?, ?, ?)",
               [kid, sealing.public_bytes(private.public_key()), now])
    for (holder,) in db.execute("SELECT name FROM key_holders").fetchall():
        keys.grant(db, holder, {kid: private})
    lookup.reset(db)
    audit.append(db, actor=actor, action=audit.KEY_ROTATED, subject=kid, details={"old": current[0]})
    return kid, private


def reseal(node: Any, held: keys.NodeKeys, new_kid: str) -> tuple[int, int]:
    """Step 2: re-seal node copies not under ``new_kid``; (re-sealed, unreadable) counts.

    One walk over each table in rowid order (keyset pages), so a pass costs
    O(rows), whatever is already re-sealed.
    """
    opener = node.vault.opener(held)
    done = unreadable = 0
    for table, id_col, col, purpose in SEALED_COLUMNS:
        after = 0
        while True:
            after, rows = _stale_blobs(node, table, id_col, col, new_kid, after)
            if after is None:
                break
            updates = []
            for record_id, blob in rows:
                try:
                    values = opener.personal(record_id, blob, purpose)
                except SealError:
                    unreadable += 1  # damaged: left as is, counted, reported
                    continue
                updates.append((node.vault.seal(record_id, values, purpose)[0], record_id, blob))
            if not updates:
                continue
            sql = f"UPDATE {table} SET {col} = ? WHERE {id_col} = ? AND {col} = ?"

            def write(db: sqlite_utils.Database, updates: list = updates, sql: str = sql) -> int:
                return sum(db.execute(sql, list(u)).rowcount for u in updates)

            done += node.store.write(write)
    return done, unreadable


def _stale_blobs(node: Any, table: str, id_col: str, col: str, new_kid: str,
                 after: int) -> tuple[int | None, list[tuple]]:
    """(last rowid read, or None at the end; rows of that page still sealed under another key).

    Blobs are a version byte + 4-byte big-endian epoch id + body; decoding the
    id in Python keeps the SQL simple and the join on seal_epochs exact.
    """
    db = node.store.read()
    page = db.execute(f"SELECT rowid, {id_col}, {col} FROM {table} WHERE {col} IS NOT NULL AND rowid > ? "
                      "ORDER BY rowid LIMIT ?", [after, BATCH]).fetchall()
    if not page:
        return None, []
    epochs = dict(db.execute("SELECT id, node_key FROM seal_epochs").fetchall())
    stale = []
    for _rowid, record_id, blob in page:
        try:
            epoch = sealing.epoch_of(blob)
        except SealError:
            continue
        if epochs.get(epoch) != new_kid:
            stale.append((record_id, blob))
    return page[-1][0], stale


def finish(db: sqlite_utils.Database, new_kid: str) -> int:
    """Step 3: forget every retired key's grants; returns how many grants went."""
    return db.execute("DELETE FROM key_grants WHERE key_id != ?", [new_kid]).rowcount


def rotate(node: Any, held: keys.NodeKeys, actor: str, *, settle_seconds: float | None = None) -> Rotation:
    """The whole rotation, resumable; ``held`` are the caller's node keys (old ones)."""
    from gateway.privacy.vault import KEY_CHECK_SECONDS

    old = sorted(held)
    new_kid, new_private = node.store.write(lambda db: start(db, held, actor))
    node.vault.forget_key_cache()
    all_keys = {**held, new_kid: new_private}
    result = Rotation(old=old, new=new_kid)
    # A running `simpul serve` notices the new key within KEY_CHECK_SECONDS;
    # sweep until a pass after that finds nothing sealed to an old key.
    settle = KEY_CHECK_SECONDS + 1 if settle_seconds is None else settle_seconds
    deadline = time.monotonic() + settle
    while True:
        n, bad = reseal(node, all_keys, new_kid)
        result.resealed += n
        result.unreadable = max(result.unreadable, bad)
        if time.monotonic() >= deadline and n == 0:
            break
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    if result.unreadable == 0:
        node.store.write(lambda db: finish(db, new_kid))
    lookup.catch_up(node.store, node.vault.opener({new_kid: new_private}))
    return result
