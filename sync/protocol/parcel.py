"""Sneakernet files ("parcels"): one sync batch per file, for a USB stick carried between a node and
the regional server when there is no link.

A parcel holds exactly what the HTTP exchange would carry (a push body, a
pull or catalog answer), packed by :mod:`sync.protocol.wire`. On disk::

    SIMPUL-PARCEL/1\\n
    <header: one line of JSON>\\n
    <signature: HMAC-SHA256 hex, sync.protocol.signing.sign_parcel>\\n
    <body: AES-256-GCM of the packed batch>

The header says whose file it is and where it belongs (node, direction,
kind, export id and sequence, part i of n, file id, body size). The body is
encrypted with a key derived from the node's sync secret, so a lost stick
shows only that header; the HMAC covers the header and the body, so a
damaged, truncated or edited file, or one made with another secret, is
refused before anything is read from it. Pure functions except :func:`scan`,
which reads a folder.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.i18n import Message
from sync.errors import ProtocolError
from sync.protocol import signing, wire

MAGIC = b"SIMPUL-PARCEL/1\n"
SUFFIX = ".parcel"
MAX_FILE = 64 * 1024 * 1024  # far above a batch; a stray disk image is not read into memory
MAX_HEADER = 4096
UP, DOWN = "up", "down"
# The order in which the parts of one export are written and must be applied:
# requests before the events about them, the audit trail last (as an HTTP pass).
KINDS = {UP: ("requests", "events", "audit"), DOWN: ("state", "updates")}
_NODE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ParcelError(ProtocolError):
    """A file that cannot be used; ``message`` says why, for the operator (translated late)."""

    def __init__(self, message: Message):
        super().__init__(message.msgid % message.params if message.params else message.msgid)
        self.message = message


@dataclass(frozen=True)
class Parcel:
    header: dict[str, Any]
    raw_header: bytes
    signature: str
    body: bytes

    @property
    def node(self) -> str:
        return self.header["node"]

    @property
    def file_id(self) -> str:
        return self.header["id"]


def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"simpul parcel v1").derive(secret.encode())


def file_name(header: dict[str, Any]) -> str:
    """``simpul-<direction>-<node>-<export seq>-<part>-<kind>.parcel``: sorted, they are in order."""
    return (f"simpul-{header['dir']}-{header['node']}-{header['seq']:06d}-{header['part']:03d}-"
            f"{header['kind']}{SUFFIX}")


def make(secret: str, *, node: str, direction: str, kind: str, export: str, seq: int, part: int, parts: int,
         at: str, payload: Any, file_id: str | None = None,
         extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], bytes]:
    """(header, file bytes) of one parcel: ``payload`` packed, encrypted and signed with ``secret``."""
    if not _NODE_ID.match(node) or kind not in KINDS.get(direction, ()):
        raise ValueError("bad node id, direction or kind")
    nonce = os.urandom(12)
    header = {"v": 1, "node": node, "dir": direction, "kind": kind, "export": export, "seq": seq,
              "part": part, "parts": parts, "id": file_id or str(uuid.uuid4()), "at": at, "nonce": nonce.hex(),
              **(extra or {})}
    plain = wire.pack(payload)
    header["size"] = len(plain) + 16  # AES-GCM adds a 16-byte tag
    raw = wire.dumps(header)
    body = AESGCM(_key(secret)).encrypt(nonce, plain, raw)
    return header, MAGIC + raw + b"\n" + signing.sign_parcel(secret, raw, body).encode() + b"\n" + body


def read(data: bytes) -> Parcel:
    """Split a file into its parts and check its shape (not yet its signature): ParcelError if not a parcel."""
    if len(data) > MAX_FILE:
        raise ParcelError(Message("too large to be a sync file"))
    if not data.startswith(MAGIC):
        raise ParcelError(Message("not a Simpul sync file"))
    rest = data[len(MAGIC):]
    first = rest.find(b"\n", 0, MAX_HEADER)
    second = rest.find(b"\n", first + 1, first + 1 + 65) if first >= 0 else -1
    if first < 0 or second < 0:
        raise ParcelError(Message("the file is cut short (truncated)"))
    raw, signature, body = rest[:first], rest[first + 1:second], rest[second + 1:]
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ParcelError(Message("the file's header is damaged")) from None
    if not _valid_header(header):
        raise ParcelError(Message("the file's header is damaged"))
    if len(body) != header["size"]:
        raise ParcelError(Message("the file is cut short (truncated): %(got)d of %(want)d bytes",
                                  got=len(body), want=header["size"]))
    return Parcel(header, raw, signature.decode("ascii", "replace"), body)


def _valid_header(h: Any) -> bool:
    if not isinstance(h, dict) or h.get("v") != 1:
        return False
    if not isinstance(h.get("node"), str) or not _NODE_ID.match(h["node"]):
        return False
    if h.get("dir") not in KINDS or h.get("kind") not in KINDS[h["dir"]]:
        return False
    for key in ("seq", "part", "parts", "size"):
        if not isinstance(h.get(key), int) or isinstance(h[key], bool) or h[key] < 0:
            return False
    if not 1 <= h["part"] <= h["parts"]:
        return False
    for key in ("export", "id", "at", "nonce"):
        if not isinstance(h.get(key), str) or not h[key]:
            return False
    return len(h["nonce"]) == 24 and all(c in "0123456789abcdef" for c in h["nonce"])


def open_payload(parcel: Parcel, secret: str) -> Any:
    """The batch inside, once the signature proves it was made with ``secret`` and is whole."""
    if not signing.verify_parcel(secret, parcel.signature, parcel.raw_header, parcel.body):
        raise ParcelError(Message("the signature does not match: the file was changed or damaged, "
                                  "or made with another node's secret"))
    try:
        plain = AESGCM(_key(secret)).decrypt(bytes.fromhex(parcel.header["nonce"]), parcel.body,
                                             parcel.raw_header)
    except InvalidTag:
        raise ParcelError(Message("the file's content cannot be opened")) from None
    return wire.unpack(plain)


def ranges(seqs: list[int]) -> list[list[int]]:
    """[1, 2, 3, 7, 8] -> [[1, 3], [7, 8]]: how acknowledged seqs travel back to a node."""
    out: list[list[int]] = []
    for seq in sorted(set(seqs)):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


def merge_ranges(groups: list[list[list[int]]]) -> list[list[int]]:
    """The union of several range lists, as few ranges as possible."""
    spans = sorted((a, b) for group in groups for a, b in group)
    out: list[list[int]] = []
    for a, b in spans:
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def scan(folder: Path) -> Iterable[tuple[Path, bytes | Message]]:
    """Each parcel file of ``folder`` (by name) with its bytes, or why it could not be read."""
    for path in sorted(folder.glob("*" + SUFFIX)):
        if path.name.startswith("."):
            continue  # a temporary file of an interrupted write
        try:
            yield path, path.read_bytes()
        except OSError as exc:
            yield path, Message("cannot read the file: %(reason)s", reason=exc.strerror or str(exc))


def incomplete(headers: dict[int, dict[str, Any]]) -> Message | None:
    """Why the parts found of one export (part number -> header) cannot be applied as a whole, or None."""
    first = next(iter(headers.values()))
    if any(h["parts"] != first["parts"] or h["seq"] != first["seq"] for h in headers.values()):
        return Message("its files disagree about the export: nothing from it was applied")
    missing = sorted(set(range(1, first["parts"] + 1)) - set(headers))
    if missing:
        return Message("part(s) %(missing)s of %(parts)d are missing or refused: nothing from it was applied; "
                       "bring all its files", missing=", ".join(map(str, missing)), parts=first["parts"])
    return None
