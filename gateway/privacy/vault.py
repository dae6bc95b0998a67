"""Sealing a request's personal fields at intake, and opening them for officers.

Intake (SMS, USSD, portal) runs with no officer present, so sealing needs only
public keys: the node's current key (``gateway.privacy.keys``) and the regional
server's (setting ``sync.regional_key``). Each process run opens a *seal
epoch*: a fresh X25519 key pair whose public half is stored in
``seal_epochs`` and whose private half never leaves memory (see
``gateway.privacy.sealing.EpochSealer``). Two copies are sealed: ``sealed`` for the
node's officers and ``sealed_regional`` for the regional server (sent as is
by sync, so the node never needs to open anything to sync).

Opening needs the node's private key, which only a logged-in officer's
session holds (``gateway.privacy.keyring``).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from gateway import clock
from gateway.cases.records import get_kv, set_kv
from gateway.errors import ConfigError, SimpulError
from gateway.privacy import compact, keys, sealing
from gateway.privacy.sealing import EpochOpener, EpochSealer, SealError

EPOCH_RECORDS = 10_000  # a new epoch key after this many records (and at every start)
KEY_CHECK_SECONDS = 5.0  # how stale the cached "current node key" may be (rotation elsewhere)


class NotProvisioned(SimpulError):
    """The node has no sealing key yet: run ``simpul init-db``."""


def aad(record_id: str, copy: str, purpose: str = "fields") -> bytes:
    """Binds a sealed copy to its record, purpose and recipient: a blob cannot be moved."""
    if purpose == "fields":  # a request's personal fields (the common case keeps the short form)
        return f"{record_id}|{copy}".encode()
    return f"{record_id}|{purpose}|{copy}".encode()


def encode_personal(personal: dict[str, Any]) -> bytes:
    # Compact before sealing (gateway/privacy/compact.py): a sealed blob no longer
    # compresses in a sync batch, and sync runs over 2G.
    return compact.encode(json.dumps(personal, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())


def decode_personal(plaintext: bytes) -> dict[str, Any]:
    """Inverse of :func:`encode_personal` (the regional server opens copies with it too)."""
    return json.loads(compact.decode(plaintext))


def parse_public_key(text: str) -> X25519PublicKey | None:
    """A base64 X25519 public key (``sync.regional_key``); None for empty."""
    text = text.strip()
    if not text:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
        return X25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ConfigError("sync.regional_key: not a base64 X25519 public key (32 bytes)") from exc


@dataclass
class _Epoch:
    id: int
    node_key: str
    regional_key: bytes | None
    node: EpochSealer
    regional: EpochSealer | None
    records: int = 0


class Vault:
    def __init__(self, store: Any, regional_key: X25519PublicKey | None = None,
                 *, epoch_records: int = EPOCH_RECORDS):
        self.store = store
        self.regional_key = regional_key
        self.epoch_records = epoch_records
        self._lock = threading.Lock()
        self._epoch: _Epoch | None = None
        self._node_key: tuple[str, X25519PublicKey] | None = None
        self._node_key_checked = -1e18

    # --- sealing (no secret needed) ---------------------------------------------

    def ready(self) -> None:
        """Make sure an epoch exists; call before a write job that seals with ``in_write=True``."""
        self._take_epoch(count=False)

    def seal(self, record_id: str, personal: dict[str, Any], purpose: str = "fields", *,
             in_write: bool = False) -> tuple[bytes | None, bytes | None]:
        """(node copy, regional copy) of ``personal``; (None, None) when empty.

        ``purpose`` names what is sealed for other personal data than request
        fields (``"note"`` for an event's note, ``"feedback"`` ...), so a blob
        of one kind can never be opened as another. Inside a write job pass
        ``in_write=True`` (after ``ready()`` outside it): a new epoch is a write
        of its own, which would wait for the job that waits for it.
        """
        if not personal:
            return None, None
        plaintext = encode_personal(personal)
        epoch = self._current_epoch() if in_write else self._take_epoch()
        node_copy = epoch.node.seal(plaintext, aad(record_id, "node", purpose))
        regional_copy = (epoch.regional.seal(plaintext, aad(record_id, "regional", purpose))
                         if epoch.regional else None)
        return node_copy, regional_copy

    def forget_key_cache(self) -> None:
        """After a rotation in this process: the next seal reads the current key (and starts an epoch)."""
        with self._lock:
            self._node_key = None

    def _current_node_key(self) -> tuple[str, X25519PublicKey]:
        now = time.monotonic()
        if self._node_key is None or now - self._node_key_checked > KEY_CHECK_SECONDS:
            current = keys.current_key(self.store.read())
            if current is None:
                raise NotProvisioned("this node has no sealing key: run `simpul init-db`")
            self._node_key, self._node_key_checked = current, now
        return self._node_key

    def _take_epoch(self, count: bool = True) -> _Epoch:
        with self._lock:
            node_kid, node_pub = self._current_node_key()
            epoch = self._epoch
            if epoch is None or epoch.records >= self.epoch_records or epoch.node_key != node_kid:
                epoch = self._epoch = self._new_epoch(node_kid, node_pub)
            epoch.records += count
            return epoch

    def _current_epoch(self) -> _Epoch:
        # Inside a write job: the epoch may run past its record budget (the
        # next sealing outside a job starts a new one), but it must exist.
        with self._lock:
            if self._epoch is None:
                raise NotProvisioned("no seal epoch yet: call vault.ready() before the write job")
            self._epoch.records += 1
            return self._epoch

    def _new_epoch(self, node_kid: str, node_pub: X25519PublicKey) -> _Epoch:
        private = X25519PrivateKey.generate()
        regional_raw = sealing.public_bytes(self.regional_key) if self.regional_key else None

        def insert(db: sqlite_utils.Database) -> int:
            cursor = db.execute(
                "INSERT INTO seal_epochs (public, node_key, regional_key, created_at) VALUES (?, ?, ?, ?)",
                [sealing.public_bytes(private.public_key()), node_kid, regional_raw, clock.utcnow()])
            return int(cursor.lastrowid)

        # Committed before any record refers to it; the private half is dropped
        # with this epoch (only the two derived sealers keep what they need).
        epoch_id = self.store.write(insert)
        return _Epoch(epoch_id, node_kid, regional_raw, EpochSealer(epoch_id, private, node_pub),
                      EpochSealer(epoch_id, private, self.regional_key) if self.regional_key else None)

    def seal_regional(self, items: list[tuple[str, dict[str, Any]]], purpose: str = "fields") -> list[bytes]:
        """Regional copies only, all under one fresh epoch, for records sealed while
        ``sync.regional_key`` was empty (sync re-seals them with an officer's session keys)."""
        if self.regional_key is None:
            raise NotProvisioned("sync.regional_key is empty: nothing to seal a regional copy to")
        with self._lock:
            self._epoch = None
        epoch = self._take_epoch(count=False)
        assert epoch.regional is not None
        with self._lock:
            epoch.records += len(items)
        return [epoch.regional.seal(encode_personal(personal), aad(record_id, "regional", purpose))
                for record_id, personal in items]

    # --- opening (a session's node keys) ----------------------------------------

    def opener(self, node_keys: keys.NodeKeys) -> RequestOpener:
        return RequestOpener(self.store, node_keys)


class RequestOpener:
    """Opens the node copy of requests with the node keys one session holds."""

    def __init__(self, store: Any, node_keys: keys.NodeKeys):
        self.store = store
        self.node_keys = node_keys
        self._openers: dict[str, EpochOpener] = {}
        self._epoch_key: dict[int, str] = {}

    def _epoch(self, epoch_id: int) -> EpochOpener:
        kid = self._epoch_key.get(epoch_id)
        if kid is None:
            row = self.store.read().execute("SELECT public, node_key FROM seal_epochs WHERE id = ?",
                                            [epoch_id]).fetchone()
            if row is None:
                raise SealError(f"unknown seal epoch {epoch_id}")
            kid = self._epoch_key[epoch_id] = row[1]
            if kid in self.node_keys:
                opener = self._openers.setdefault(kid, EpochOpener(self.node_keys[kid]))
                opener.epoch_public[epoch_id] = row[0]
        if kid not in self._openers:
            raise SealError("this session does not hold the key these fields were sealed to")
        return self._openers[kid]

    def personal(self, record_id: str, blob: bytes | None, purpose: str = "fields") -> dict[str, Any]:
        """The opened node copy ({} when there is none); SealError if not openable."""
        if blob is None:
            return {}
        opener = self._epoch(sealing.epoch_of(blob))
        return decode_personal(opener.open(blob, aad(record_id, "node", purpose)))

    def fields(self, row: dict[str, Any]) -> dict[str, Any]:
        """A request row's plain fields merged with its opened personal ones."""
        plain = row["fields"]
        if isinstance(plain, str):
            plain = json.loads(plain)
        return {**plain, **self.personal(row["id"], row.get("sealed"))}


SEALED = "\u2022" * 6  # what a view shows in place of a value it cannot open


def fields_for_view(opener: RequestOpener | None, row: dict[str, Any], catalog_service: Any = None) -> tuple[
        dict[str, Any], bool]:
    """(fields, opened): the row's fields, with sealed values masked when no key is at hand."""
    plain = row["fields"]
    if isinstance(plain, str):
        plain = json.loads(plain)
    if row.get("sealed") is None:
        return dict(plain), True
    if opener is not None:
        try:
            return opener.fields(row), True
        except SealError:
            pass
    masked = dict(plain)
    if catalog_service is not None:
        for field in catalog_service.fields:
            if field.personal and field.name not in masked:
                masked[field.name] = SEALED
    return masked, False


def seal_leftovers(store: Any, vault: Vault, load_catalog: Any) -> int:
    """Seal personal values a database from before sealing still holds in clear (once each).

    Runs at start-up: request fields (kv flag ``plaintext_sealed``), then
    status-event notes (``notes_sealed``; notes were sealed later than
    fields). Freed cells are zeroed (``secure_delete``), and the WAL is
    truncated afterwards so the old page images go too. Returns how many rows.
    """
    done = 0
    if not get_kv(store.read(), "plaintext_sealed"):
        done += _seal_old_requests(store, vault, load_catalog())
    if not get_kv(store.read(), "notes_sealed"):
        done += _seal_old_notes(store, vault)
    done += _seal_newly_personal(store, vault, load_catalog())
    if done:
        store.read().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return done


def _seal_old_requests(store: Any, vault: Vault, catalog: Any) -> int:
    done = 0
    rows = store.read().execute("SELECT id, service, fields FROM requests WHERE sealed IS NULL "
                                "AND purged_at IS NULL AND fields != '{}'").fetchall()
    for request_id, service_code, fields in rows:
        service = catalog.service(service_code)
        values = json.loads(fields)
        if service is None:
            plain, personal = {}, values
        else:
            plain, personal = service.split_personal(values)
        if not personal:
            continue
        _write_sealed(store, vault, request_id, plain, personal, None)
        done += 1
    store.write(lambda db: set_kv(db, "plaintext_sealed", clock.utcnow()))
    return done


def _seal_old_notes(store: Any, vault: Vault) -> int:
    rows = store.read().execute("SELECT id, note FROM status_events WHERE note IS NOT NULL AND note != '' "
                                "AND note_sealed IS NULL").fetchall()
    for event_id, note in rows:
        sealed, sealed_regional = vault.seal(event_id, {"note": note}, "note")
        store.write(lambda db, args=[sealed, sealed_regional, event_id]: db.execute(
            "UPDATE status_events SET note = NULL, note_sealed = ?, note_sealed_regional = ? "
            "WHERE id = ? AND note_sealed IS NULL", args))
    store.write(lambda db: set_kv(db, "notes_sealed", clock.utcnow()))
    return len(rows)


CLEAR_PERSONAL_PENDING = "clear_personal_pending"


def _clear_personal(catalog: Any, service_code: str, fields: dict[str, Any]) -> tuple[dict, dict]:
    service = catalog.service(service_code)
    return service.split_personal(fields) if service is not None else ({}, fields)


def _write_sealed(store: Any, vault: Vault, request_id: str, plain: dict[str, Any], personal: dict[str, Any],
                  was: bytes | None) -> None:
    """Replace a row's clear fields and sealed copies, unless its sealed copy changed meanwhile (``was``)."""
    node_copy, regional_copy = vault.seal(request_id, personal)
    args = [json.dumps(plain, ensure_ascii=False, sort_keys=True), node_copy, regional_copy, request_id, was]
    store.write(lambda db: db.execute(
        "UPDATE requests SET fields = ?, sealed = ?, sealed_regional = ?, index_key = NULL "
        "WHERE id = ? AND sealed IS ?", args))


def _seal_newly_personal(store: Any, vault: Vault, catalog: Any) -> int:
    """Seal values a catalog made personal after they were stored (e.g. free text, now personal by default).

    Rows with no sealed copy yet are sealed here. Rows that already have one
    need it opened to add the values, which takes the node key: they are left
    for the next key-holding officer's login (``merge_clear_personal``), and
    flagged so that login looks for them.
    """
    # Keyed by which fields are personal, not by catalog version: an edited
    # local file may change that without a new version.
    signature = json.dumps({s.code: sorted(f.name for f in s.fields if f.personal) for s in catalog.services},
                           sort_keys=True)
    if get_kv(store.read(), "catalog_personal_sealed") == signature and \
            not get_kv(store.read(), CLEAR_PERSONAL_PENDING):
        return 0
    done, waiting = 0, 0
    rows = store.read().execute("SELECT id, service, fields, sealed FROM requests WHERE purged_at IS NULL "
                                "AND fields != '{}'").fetchall()
    for request_id, service_code, fields, sealed in rows:
        plain, personal = _clear_personal(catalog, service_code, json.loads(fields))
        if not personal:
            continue
        if sealed is not None:
            waiting += 1
            continue
        _write_sealed(store, vault, request_id, plain, personal, None)
        done += 1

    def mark(db: sqlite_utils.Database) -> None:
        set_kv(db, "catalog_personal_sealed", signature)
        set_kv(db, CLEAR_PERSONAL_PENDING, str(waiting) if waiting else "")

    store.write(mark)
    return done


def merge_clear_personal(store: Any, vault: Vault, opener: RequestOpener, catalog: Any) -> int:
    """At a key-holder's login: fold values left in clear into each row's sealed copies."""
    if not get_kv(store.read(), CLEAR_PERSONAL_PENDING):
        return 0
    done, left = 0, 0
    rows = store.read().execute("SELECT id, service, fields, sealed FROM requests WHERE purged_at IS NULL "
                                "AND fields != '{}' AND sealed IS NOT NULL").fetchall()
    for request_id, service_code, fields, sealed in rows:
        plain, personal = _clear_personal(catalog, service_code, json.loads(fields))
        if not personal:
            continue
        try:
            merged = {**opener.personal(request_id, sealed), **personal}
        except SealError:
            left += 1  # sealed to a key this session lacks: a later login does it
            continue
        _write_sealed(store, vault, request_id, plain, merged, sealed)
        done += 1
    store.write(lambda db: set_kv(db, CLEAR_PERSONAL_PENDING, str(left) if left else ""))
    if done:
        store.read().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return done
