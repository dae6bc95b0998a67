"""The regional server's X25519 sealing keys: where they live, rotation, opening sealed records.

Nodes seal a copy of every request's personal fields to the regional public
key (``sync.regional_key``), so the regional database holds only sealed
blobs and the key that opens them stays out of it: env
``SIMPUL_REGIONAL_SEAL_KEY`` (base64 private keys, newest first, separated by
commas or whitespace), else the file ``regional.seal_key_file`` (default
``regional_seal_key`` next to the regional database; created 0600 on first
use; one base64 private key per line, newest first). Old keys stay after a
rotation: records sealed to them must still open. Never logged.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.config.loader import Config
from gateway.i18n import N_
from gateway.privacy import sealing
from gateway.privacy.sealing import EpochOpener, SealError
from gateway.privacy.vault import aad, decode_personal
from gateway.storage.files import private_dir
from sync.errors import RegionalError, SyncError

ENV = "SIMPUL_REGIONAL_SEAL_KEY"
DEFAULT_FILE = "regional_seal_key"

# Why a sealed record could not be opened (requests.seal_problem); labels are msgids.
UNKNOWN_KEY = "unknown_key"
UNKNOWN_EPOCH = "unknown_epoch"
DAMAGED = "damaged"
PROBLEMS = {
    UNKNOWN_KEY: N_("sealed to a regional key this server does not hold (check the node's sync.regional_key)"),
    UNKNOWN_EPOCH: N_("the node did not send the seal epoch this record refers to"),
    DAMAGED: N_("the sealed data is damaged or belongs to another record"),
}


class SealKeyError(RegionalError):
    """The regional sealing key is missing, unreadable or cannot be rotated here."""


def key_id_hex(public: bytes) -> str:
    return sealing.key_id(public).hex()


def public_b64(key: X25519PrivateKey) -> str:
    return base64.b64encode(sealing.public_bytes(key.public_key())).decode()


def _parse(text: str, source: str) -> list[X25519PrivateKey]:
    keys = []
    for token in text.replace(",", " ").split():
        try:
            keys.append(X25519PrivateKey.from_private_bytes(base64.b64decode(token, validate=True)))
        except ValueError:
            raise SealKeyError(f"{source}: not a base64 X25519 private key (32 bytes)") from None
    return keys


def key_file(config: Config) -> Path:
    configured = config["regional.seal_key_file"]
    if configured:
        return Path(configured)
    return Path(config["regional.db"]).resolve().parent / DEFAULT_FILE


def _new_line() -> str:
    return base64.b64encode(sealing.private_bytes(X25519PrivateKey.generate())).decode() + "\n"


@dataclass
class RegionalKeys:
    """The private keys this server holds, newest first (index 0 seals new node provisioning)."""

    keys: list[X25519PrivateKey]
    source: str

    @property
    def current(self) -> X25519PrivateKey:
        return self.keys[0]

    def public_b64(self) -> str:
        return public_b64(self.current)

    def by_id(self) -> dict[str, X25519PrivateKey]:
        return {key_id_hex(sealing.public_bytes(k.public_key())): k for k in self.keys}


def load_keys(config: Config, environ: dict[str, str] | None = None, *, create: bool = True) -> RegionalKeys:
    """The regional keys: env first, else the key file (created with one fresh key if missing)."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV, "").strip():
        return RegionalKeys(_parse(environ[ENV], f"env {ENV}"), "env")
    path = key_file(config)
    if not path.exists():
        if not create:
            raise SealKeyError(f"no regional sealing key file at {path}")
        private_dir(path.parent)  # 0700 when made here (on PostgreSQL nothing else makes it)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(_new_line())
                fh.flush()
                os.fsync(fh.fileno())
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SealKeyError(f"regional.seal_key_file {path}: cannot read ({exc.__class__.__name__})") from None
    keys = _parse(text, f"regional.seal_key_file {path}")
    if not keys:
        raise SealKeyError(f"regional.seal_key_file {path} holds no key")
    return RegionalKeys(keys, str(path))


def rotate(config: Config, environ: dict[str, str] | None = None) -> RegionalKeys:
    """Put a fresh key first in the key file, keeping the old ones (records sealed to them still open)."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV, "").strip():
        raise SealKeyError(f"the keys come from env {ENV}: rotate by putting a new key first there")
    current = load_keys(config, environ)
    path = Path(current.source)
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(_new_line() + "".join(base64.b64encode(sealing.private_bytes(k)).decode() + "\n"
                                       for k in current.keys))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return load_keys(config, environ)


def note_text(opened: dict[str, Any]) -> str | None:
    """A sealed note's text: sealed as ``{"note": text}`` (purpose "note", record id = event id)."""
    if "note" in opened:
        return str(opened["note"]) if opened["note"] is not None else None
    return str(next(iter(opened.values()))) if len(opened) == 1 else None


class Unopenable(SyncError):
    """A regional copy this server cannot open; ``problem`` says why (stored, shown, never fatal)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


class RegionalOpener:
    """Opens (or checks) the regional copies of ONE node's records with this server's keys.

    Epoch ids are per node, so use one instance per node (a batch, a view).
    The shared key of each epoch is computed once (one X25519 per epoch, not
    per record: a 5,000-record batch is checked in milliseconds).
    """

    def __init__(self, keys: RegionalKeys):
        self._by_id = keys.by_id()
        self._openers: dict[str, EpochOpener] = {}

    def problem(self, request_id: str, blob: bytes | None, epochs: dict[int, dict[str, Any]],
                purpose: str = "fields") -> str | None:
        """None when the blob opens (or there is none), else why not (a problem code).

        Checks the AEAD tag only (what tells a wrong key, a moved or altered
        blob); the content is decoded when a case worker views it.
        """
        try:
            self._plaintext(request_id, blob, epochs, purpose)
        except Unopenable as exc:
            return exc.problem
        return None

    def open(self, request_id: str, blob: bytes | None, epochs: dict[int, dict[str, Any]],
             purpose: str = "fields") -> dict[str, Any]:
        """The personal fields; raises Unopenable (with ``.problem``) when they cannot be opened.

        ``epochs``: the node's epoch id -> {"public": bytes, "regional_key": key id hex}.
        """
        plaintext = self._plaintext(request_id, blob, epochs, purpose)
        if plaintext is None:
            return {}
        try:
            return decode_personal(plaintext)
        except ValueError:
            raise Unopenable(DAMAGED) from None

    def _plaintext(self, request_id: str, blob: bytes | None, epochs: dict[int, dict[str, Any]],
                   purpose: str) -> bytes | None:
        if blob is None:
            return None
        try:
            epoch_id = sealing.epoch_of(blob)
        except SealError:
            raise Unopenable(DAMAGED) from None
        epoch = epochs.get(epoch_id)
        if epoch is None:
            raise Unopenable(UNKNOWN_EPOCH)
        kid = epoch["regional_key"] or ""
        opener = self._openers.get(kid)
        if opener is None:
            private = self._by_id.get(kid)
            if private is None:
                raise Unopenable(UNKNOWN_KEY)
            opener = self._openers[kid] = EpochOpener(private)
        known = opener.epoch_public.get(epoch_id)
        if known is None:
            opener.epoch_public[epoch_id] = epoch["public"]
        elif known != epoch["public"]:
            # Another public key under a known id: start afresh, so no shared key cached for the old one is used.
            opener = self._openers[kid] = EpochOpener(opener.private, dict(opener.epoch_public))
            opener.epoch_public[epoch_id] = epoch["public"]
        try:
            return opener.open(blob, aad(request_id, "regional", purpose))
        except SealError:
            raise Unopenable(DAMAGED) from None
