"""Enrolment on the regional server: issue one-time tokens, redeem them once.

``issue`` registers the node if needed and records a hash of a fresh one-time
code; ``POST /sync/v1/enrol`` takes the code with the node's new public key,
burns the code, gives the node a fresh HMAC secret and answers it sealed to
that key (``gateway.privacy.sealing.seal``). The endpoint is unsigned (the
node has no secret yet): the 128-bit code is the credential, and it works once.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from flask import Blueprint, Response, current_app, jsonify, request

from gateway.privacy.sealing import seal
from sync.errors import AlreadyExists, EnrolmentRefused, RegionalError
from sync.protocol.enrolment import CODE_LEN, ENROL_PATH, Token, code_hash, secret_aad

DEFAULT_DAYS = 7
bp = Blueprint("sync_enrol", __name__)


def enrolment_problem(row: Any, node_id: str, now: str) -> str | None:
    """Why an enrolment row (node_id, expires_at, used_at) cannot be redeemed now, or None."""
    if row is None or row[0] != node_id:
        return "unknown enrolment code"
    if row[2] is not None:
        return "this token was already used"
    if row[1] <= now:
        return "this token has expired"
    return None


def regional_url(config: Any) -> tuple[str, bool]:
    """(URL nodes should use, whether it was guessed from host:port rather than configured)."""
    public = str(config.get("regional.public_url", "") or "").rstrip("/")
    if public:
        return public, False
    host = config["regional.host"]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config['regional.port']}", True


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure(url: str) -> bool:
    """Plain http:// to anything but this machine: the token's code could be read on the way."""
    return urlsplit(url).scheme != "https" and not is_loopback(url)


def issue(store: Any, node_id: str, name: str | None, url: str, regional_key: bytes, catalog_version: int,
          days: float = DEFAULT_DAYS) -> Token:
    """Register the node if new (with ``name`` for the fleet view), record a one-time code, return the token.

    A re-enrolment's ``name`` replaces the node's when the token is used (the old
    box keeps its secret and name until then); no name keeps the registered one.
    """
    try:
        store.add_node(node_id, name=name)
    except AlreadyExists:
        pass  # a re-enrolment (a replaced box): the secret changes when the token is used
    code = secrets.token_bytes(CODE_LEN)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    store.add_enrolment(node_id, name or "", code_hash(code), expires.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return Token(url=url, node_id=node_id, name=name or node_id, regional_key=regional_key,
                 catalog_version=catalog_version, expires=int(expires.timestamp()), code=code)


def _refuse(status: int, reason: str) -> Response:
    resp = jsonify(error=reason)
    resp.status_code = status
    return resp


@bp.post(ENROL_PATH)
def enrol() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _refuse(400, "expected a JSON object")
    node_id, code, public = body.get("node_id"), body.get("code"), body.get("public_key")
    if not all(isinstance(v, str) and v for v in (node_id, code, public)):
        return _refuse(400, "node_id, code and public_key are required")
    try:
        raw_code = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
        key = X25519PublicKey.from_public_bytes(base64.b64decode(public, validate=True))
    except ValueError:
        return _refuse(400, "code or public_key is not valid")
    if len(raw_code) != CODE_LEN:
        return _refuse(400, "code or public_key is not valid")
    store = current_app.extensions["simpul_regional"]
    try:
        secret = store.redeem_enrolment(node_id, code_hash(raw_code))
    except EnrolmentRefused as exc:
        return _refuse(410 if "used" in str(exc) or "expired" in str(exc) else 403, str(exc))
    except RegionalError as exc:
        return _refuse(400, str(exc))
    sealed = seal(secret.encode("utf-8"), [key], secret_aad(node_id))
    return jsonify(node_id=node_id, sealed_secret=base64.b64encode(sealed).decode("ascii"))


def qr_png(text: str, scale: int = 8, border: int = 4) -> bytes:
    """The token as a black-on-white QR code PNG for printing (no imaging library needed)."""
    import qrcode

    qr = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    rows = []
    for line in matrix:
        pixels = bytes(0 if dark else 255 for dark in line for _ in range(scale))
        rows.extend([b"\x00" + pixels] * scale)
    size = len(matrix) * scale

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))
