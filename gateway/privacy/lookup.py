"""Finding requests by NIK or phone through a keyed blind index.

A token is HMAC-SHA256(index key, kind + value), truncated to 128 bits
(``gateway.privacy.sealing.blind_index``). The index key is derived from the node's
private key, so a stolen disk gives tokens but no way to test a guessed NIK
against them (NIKs are guessable: region, birth date, a small serial).

The cost of that: intake cannot compute tokens (it holds no secret), so rows
are indexed *later*, by whoever holds the node key: ``catch_up`` runs at
officer login and before every look-up, and indexes only the rows added since
(``requests.index_key IS NULL``). Tokens: every personal value of 16 digits
(a NIK in any field: ``nik``, ``mother_nik``...), the request's phone, and
every personal value in E.164 form (a ``phone`` field: the catalog's phone
type stores only that form), so a person is found by a number they gave in a
form as well as by the one they wrote from.
"""

from __future__ import annotations

import re
from typing import Any

import sqlite_utils

from gateway.privacy import keys, sealing
from gateway.privacy.sealing import SealError
from gateway.privacy.vault import RequestOpener

NIK, PHONE = "nik", "phone"
CATCH_UP_BATCH = 500
_NIK = re.compile(r"\d{16}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def index_key(node_keys: keys.NodeKeys, current_kid: str) -> bytes | None:
    private = node_keys.get(current_kid)
    return sealing.index_key_from(private) if private is not None else None


def tokens(key: bytes, personal: dict[str, Any], phone: str | None) -> set[str]:
    found = {sealing.blind_index(key, NIK, str(v)) for v in personal.values()
             if isinstance(v, str) and _NIK.fullmatch(v)}
    phones = {v for v in personal.values() if isinstance(v, str) and _E164.fullmatch(v)}
    if phone:
        phones.add(phone)
    found.update(sealing.blind_index(key, PHONE, p) for p in phones)
    return found


def catch_up(store: Any, opener: RequestOpener) -> int:
    """Index every unindexed row this session's keys can open; returns how many."""
    current = keys.current_key(store.read())
    if current is None:
        return 0
    key = index_key(opener.node_keys, current[0])
    if key is None:
        return 0
    done = 0
    while True:
        rows = store.read().execute(
            "SELECT id, sealed, phone FROM requests WHERE index_key IS NULL ORDER BY seq LIMIT ?",
            [CATCH_UP_BATCH]).fetchall()
        if not rows:
            return done
        batch: list[tuple[str, set[str]]] = []
        for request_id, sealed, phone in rows:
            try:
                personal = opener.personal(request_id, sealed)
            except SealError:
                personal = {}  # damaged or sealed to a key this session lacks: index the phone at least
            batch.append((request_id, tokens(key, personal, phone)))

        def write(db: sqlite_utils.Database, batch: list[tuple[str, set[str]]] = batch) -> None:
            for request_id, found in batch:
                db.conn.executemany("INSERT OR IGNORE INTO request_index (token, request_id) VALUES (?, ?)",
                               [(t, request_id) for t in found])
                db.execute("UPDATE requests SET index_key = ? WHERE id = ? AND index_key IS NULL",
                           [current[0], request_id])

        store.write(write)
        done += len(batch)


def find(db: sqlite_utils.Database, node_keys: keys.NodeKeys, kind: str, value: str) -> list[str]:
    """Ids of requests whose ``kind`` (NIK or PHONE) equals ``value``; [] without the key."""
    current = keys.current_key(db)
    key = index_key(node_keys, current[0]) if current else None
    if key is None:
        return []
    token = sealing.blind_index(key, kind, value)
    return [r[0] for r in db.execute("SELECT request_id FROM request_index WHERE token = ?", [token])]


def forget(db: sqlite_utils.Database, request_id: str) -> None:
    """Retention: a purged request is found by neither its NIK nor its phone."""
    db.execute("DELETE FROM request_index WHERE request_id = ?", [request_id])


def reset(db: sqlite_utils.Database) -> None:
    """After a key rotation: every token is recomputed under the new index key."""
    db.execute("DELETE FROM request_index")
    db.execute("UPDATE requests SET index_key = NULL WHERE purged_at IS NULL")
