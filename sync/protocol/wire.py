"""The wire format shared by the node client and the regional server: pure functions, no I/O.

A batch is gzip-compressed compact JSON in columnar form: the column names
once, then one array per record (``{"cols": [...], "rows": [[...], ...]}``),
so a record never repeats its keys. A request's personal fields vary by
service, so they travel as a list of values plus an index into the batch's
``shapes`` (the sorted field names, sent once per batch). See
docs/sync-protocol.md for every message.

Signing lives in :mod:`sync.protocol.signing`.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import uuid
import zlib
from typing import Any

from gateway.intake import codes
from sync.errors import ProtocolError

MAX_INFLATED = 32 * 1024 * 1024  # a gzip bomb stops here
GZIP_LEVEL = 6

REQUEST_COLS = ("seq", "id", "code", "service", "channel", "phone", "locale", "officer",
                "created_at", "shape", "values")
# "internal": the note is for the office only (never in the citizen's SMS or on the track page).
EVENT_COLS = ("seq", "id", "request_id", "status", "actor", "at", "note", "before", "note_sealed_regional",
              "internal")
EVENT_COLS_V1 = EVENT_COLS[:-1]  # older nodes: a note sealed for the region was the internal one
PULL_COLS = ("cursor", "id", "request_id", "status", "actor", "at", "note")
# Audit entries travel without their hashes: "prev" (the hash the first row
# links to) and "head" ([seq, hash] of the last row, or of the node's chain
# when there are no rows) are enough for the server to recompute every hash
# and check the result, and each hash is 64 incompressible characters.
AUDIT_COLS = ("seq", "at", "actor", "action", "subject", "details")
GENESIS = "0" * 64


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def pack(obj: Any) -> bytes:
    """Compact JSON, gzip-compressed (mtime 0 so equal content is equal bytes)."""
    return gzip.compress(dumps(obj), compresslevel=GZIP_LEVEL, mtime=0)


def unpack(data: bytes) -> Any:
    """Inverse of :func:`pack`; refuses bombs and junk with ProtocolError."""
    try:
        inflater = zlib.decompressobj(wbits=31)
        raw = inflater.decompress(data, MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise ProtocolError("batch too large when inflated")
        return json.loads(raw.decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a gzip'd JSON batch: {exc}") from None


def table(cols: tuple[str, ...], rows: list[list[Any]], **extra: Any) -> dict[str, Any]:
    return {"cols": list(cols), "rows": rows, **extra}


def rows_of(message: Any, cols: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of a columnar message as dicts; checks the columns are the expected ones."""
    if not isinstance(message, dict) or message.get("cols") != list(cols):
        raise ProtocolError(f"expected columns {list(cols)}")
    rows = message.get("rows")
    if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) != len(cols) for r in rows):
        raise ProtocolError("rows must be arrays of the declared columns")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def decode_events(message: Any) -> list[dict[str, Any]]:
    """A node's event batch (either column set) -> dicts with ``internal`` set; ProtocolError on junk.

    An older node sends no ``internal`` column: it sealed exactly its
    internal notes for the region and sent notes for the citizen in clear.
    """
    old = isinstance(message, dict) and message.get("cols") == list(EVENT_COLS_V1)
    events = rows_of(message, EVENT_COLS_V1 if old else EVENT_COLS)
    for e in events:
        for key in ("id", "request_id", "status", "actor", "at"):
            if not isinstance(e[key], str) or not e[key]:
                raise ProtocolError(f"event {key} must be a non-empty string")
        if not isinstance(e["note"], str | None) or not isinstance(e["before"], str | None):
            raise ProtocolError("event note and before must be strings or null")
        e["note_sealed_regional"] = unb64(e["note_sealed_regional"], "note_sealed_regional")
        if old:
            e["internal"] = e["note_sealed_regional"] is not None
        elif not isinstance(e["internal"], bool):
            raise ProtocolError("event internal must be true or false")
    return events


def b64(blob: bytes | None) -> str | None:
    return base64.b64encode(blob).decode("ascii") if blob is not None else None


def unb64(value: Any, what: str) -> bytes | None:
    """A base64 column value -> bytes (None stays None); ProtocolError on junk."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{what} must be base64 text or null")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{what} is not valid base64") from None


def pack_id(request_id: str) -> str:
    """A request UUID as 22 base64url characters on the wire (36 hex-and-dash ones cost ~5 B
    more per record after gzip); any other id travels as is (never 22 characters long)."""
    try:
        parsed = uuid.UUID(request_id)
    except (ValueError, AttributeError, TypeError):
        parsed = None
    if parsed is not None and str(parsed) == request_id:
        return base64.urlsafe_b64encode(parsed.bytes).decode("ascii").rstrip("=")
    if isinstance(request_id, str) and len(request_id) == 22:
        raise ProtocolError("a request id of 22 characters must be a UUID")
    return request_id


def unpack_id(value: Any) -> Any:
    """Inverse of :func:`pack_id` (anything else is returned for the caller to validate)."""
    if isinstance(value, str) and len(value) == 22:
        try:
            return str(uuid.UUID(bytes=base64.urlsafe_b64decode(value + "==")))
        except (binascii.Error, ValueError):
            raise ProtocolError("request id is not a packed UUID") from None
    return value


def encode_epochs(epochs: dict[int, tuple[bytes, bytes | None]]) -> dict[str, list[str | None]]:
    """Seal epochs a batch references: id -> [epoch public key (base64), regional key id (hex)].

    ``epochs`` maps the node's epoch id to (epoch public, regional public key
    it sealed to); the key id (8 bytes of SHA-256) names the regional key
    without resending it, so a server holding several (rotation) picks the right one.
    """
    from gateway.privacy.sealing import key_id

    return {str(i): [b64(pub), key_id(regional).hex() if regional else None]
            for i, (pub, regional) in sorted(epochs.items())}


def decode_epochs(message: Any) -> dict[int, dict[str, Any]]:
    """``seal_epochs`` of a batch -> {epoch id: {"public": bytes, "regional_key": hex | None}}."""
    raw = message.get("seal_epochs", {}) if isinstance(message, dict) else None
    if not isinstance(raw, dict):
        raise ProtocolError("seal_epochs must be an object")
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.isdigit() or not isinstance(value, list) or len(value) != 2:
            raise ProtocolError("seal_epochs: id -> [public key, regional key id]")
        public = unb64(value[0], "epoch public key")
        if public is None or len(public) != 32:
            raise ProtocolError("epoch public key must be 32 bytes")
        if not isinstance(value[1], str | None) or (value[1] is not None and not _is_hex(value[1], 16)):
            raise ProtocolError("regional key id must be 16 hex characters or null")
        out[int(key)] = {"public": public, "regional_key": value[1]}
    return out


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and all(c in "0123456789abcdef" for c in value)


CODE_MAX = 64  # a catalog code: a reject_reasons code, a `category` option
RATINGS_MAX = 10_000
ID_MAX = 64  # a request id (a UUID; tests use shorter ones)


def is_code(value: Any) -> bool:
    """A catalog code as it may travel: a non-empty printable string of at most CODE_MAX characters."""
    return isinstance(value, str) and 0 < len(value) <= CODE_MAX and value.isprintable()


def decode_reasons(message: Any, n: int) -> list[str | None]:
    """``reasons`` of an events batch: each event's reject-reason category (catalog code) or null.

    Optional and aligned with the rows, like ``sealed_regional``: a node from
    before categories sends none, and its rejections are counted as "unknown".
    """
    raw = message.get("reasons") if isinstance(message, dict) else None
    if raw is None:
        return [None] * n
    if not isinstance(raw, list) or len(raw) != n:
        raise ProtocolError("reasons must be a list with one entry per row")
    for r in raw:
        if r is not None and not is_code(r):
            raise ProtocolError(f"a reason must be a printable code of at most {CODE_MAX} characters or null")
    return raw


def decode_ratings(message: Any) -> list[tuple[str, int]]:
    """``ratings`` of an events batch: [[request id, 1..5], ...], the citizen's rating only (never the comment)."""
    raw = message.get("ratings", []) if isinstance(message, dict) else None
    if not isinstance(raw, list) or len(raw) > RATINGS_MAX:
        raise ProtocolError("ratings must be a list of [request id, rating]")
    out = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str) or not item[0] \
                or len(item[0]) > ID_MAX or not isinstance(item[1], int) or isinstance(item[1], bool) \
                or not 1 <= item[1] <= 5:
            raise ProtocolError("a rating is [request id, an integer from 1 to 5]")
        out.append((item[0], item[1]))
    return out


def encode_requests(requests: list[dict[str, Any]],
                    epochs: dict[int, tuple[bytes, bytes | None]] | None = None) -> dict[str, Any]:
    """Node request rows (fields as a dict) -> columnar batch with field shapes.

    ``sealed_regional`` (each request's personal fields sealed to the regional
    key, as stored on the node; base64, null when none) is one column sent
    apart from the row arrays, aligned with them: gzip then codes the long run
    of base64 with a Huffman table of its own (~6 bits a character, so about
    the raw size), ~6 bytes a record less than inside each row.
    """
    shapes: list[list[str]] = []
    index: dict[tuple[str, ...], int] = {}
    rows = []
    for r in requests:
        names = tuple(sorted(r["fields"]))
        if names not in index:
            index[names] = len(shapes)
            shapes.append(list(names))
        code = r["tracking_code"].replace("-", "")
        rows.append([r["seq"], pack_id(r["id"]), code, r["service"], r["channel"], r["phone"], r["locale"],
                     r["officer"], r["created_at"], index[names], [r["fields"][n] for n in names]])
    return table(REQUEST_COLS, rows, shapes=shapes, seal_epochs=encode_epochs(epochs or {}),
                 sealed_regional=[b64(r.get("sealed_regional")) for r in requests])


def decode_requests(message: Any) -> list[dict[str, Any]]:
    """Columnar batch -> request dicts with ``fields`` rebuilt; ProtocolError on junk."""
    rows = rows_of(message, REQUEST_COLS)
    shapes = message.get("shapes")
    if not isinstance(shapes, list) or any(not isinstance(s, list) for s in shapes):
        raise ProtocolError("shapes must be a list of field-name lists")
    sealed = message.get("sealed_regional", [None] * len(rows))
    if not isinstance(sealed, list) or len(sealed) != len(rows):
        raise ProtocolError("sealed_regional must be a list with one entry per row")
    out = []
    for r, blob in zip(rows, sealed, strict=True):
        shape = r.pop("shape")
        values = r.pop("values")
        r["id"] = unpack_id(r["id"])
        if not isinstance(shape, int) or not 0 <= shape < len(shapes) or not isinstance(values, list) \
                or len(values) != len(shapes[shape]):
            raise ProtocolError("row does not match its shape")
        for key in ("id", "code", "service", "channel", "locale", "created_at"):
            if not isinstance(r[key], str) or not r[key]:
                raise ProtocolError(f"{key} must be a non-empty string")
        if not isinstance(r["seq"], int):
            raise ProtocolError("seq must be an integer")
        try:
            r["tracking_code"] = codes.normalize(r.pop("code"))
        except codes.CodeError:
            raise ProtocolError("tracking code is not a valid code") from None
        r["fields"] = dict(zip(shapes[shape], values, strict=True))
        r["sealed_regional"] = unb64(blob, "sealed_regional")
        out.append(r)
    return out


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def encode_audit(entries: list[dict[str, Any]], head: tuple[int, str]) -> dict[str, Any]:
    """Node audit rows (seq order, contiguous) -> columnar batch with the link and the head."""
    rows = [[e[c] for c in AUDIT_COLS] for e in entries]
    prev = entries[0]["prev_hash"] if entries else head[1]
    return table(AUDIT_COLS, rows, prev=prev, head=[head[0], head[1]])


def decode_audit(message: Any) -> tuple[str, tuple[int, str], list[dict[str, Any]]]:
    """Columnar audit batch -> (prev, head, entries); ProtocolError on junk (not on a bad chain:
    whether the chain fits is the regional store's judgement, recorded as a flag)."""
    entries = rows_of(message, AUDIT_COLS)
    prev, head = message.get("prev"), message.get("head")
    if not _is_hash(prev):
        raise ProtocolError("prev must be a 64-character lowercase hex hash")
    if not isinstance(head, list) or len(head) != 2 or not isinstance(head[0], int) or isinstance(head[0], bool) \
            or head[0] < 0 or not _is_hash(head[1]):
        raise ProtocolError("head must be [seq, hash]")
    for e in entries:
        if not isinstance(e["seq"], int) or isinstance(e["seq"], bool) or e["seq"] < 1:
            raise ProtocolError("audit seq must be a positive integer")
        for key in ("at", "actor", "action"):
            if not isinstance(e[key], str) or not e[key]:
                raise ProtocolError(f"audit {key} must be a non-empty string")
        if not isinstance(e["subject"], str | None) or not isinstance(e["details"], str):
            raise ProtocolError("audit subject must be a string or null, details a string")
    if entries and head[0] != entries[-1]["seq"]:
        raise ProtocolError("head must name the last entry sent")
    return prev, (head[0], head[1]), entries


def content_digest(request: dict[str, Any]) -> str:
    """Digest of what makes a submission *that* submission (not seq, not timestamps of receipt).

    Equal digests = identical resend (no-op); a different digest under the
    same UUID is a conflict.
    """
    canonical = [request["id"], request["tracking_code"], request["service"], request["channel"],
                 request["phone"], request["locale"], request["officer"], request["created_at"],
                 sorted(request["fields"].items())]
    if request.get("sealed_regional") is not None:
        # Over the blob as sent: an identical resend is "same", a re-sealed
        # or damaged copy under the same UUID is a conflict a case worker sees.
        canonical.append(hashlib.sha256(request["sealed_regional"]).hexdigest())
    return hashlib.sha256(dumps(canonical)).hexdigest()[:32]


def event_digest(event: dict[str, Any]) -> str:
    """Digest of a status event's content, for recording a conflicting resend."""
    canonical = [event.get(k) for k in ("id", "request_id", "status", "actor", "at", "note")]
    if event.get("note_sealed_regional") is not None:
        canonical.append(hashlib.sha256(event["note_sealed_regional"]).hexdigest())
    return hashlib.sha256(dumps(canonical)).hexdigest()[:32]
