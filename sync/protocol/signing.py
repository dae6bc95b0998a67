"""Request and response signing, the one implementation both sides of sync use.

HMAC-SHA256 with the node's secret over
``METHOD\\nPATH\\nNODE_ID\\nREQUEST_ID\\nSHA256(body)``. The request id is a
per-node counter that must strictly increase, so a replay is refused without
trusting the node's clock. Responses are signed too (over the request id, the
status and the response body digest), so a box in the middle cannot fake an
ack and make the node believe something is stored that is not.
"""

from __future__ import annotations

import hashlib
import hmac

from gateway.web.compare import same

PREFIX = "/sync/v1"
H_NODE = "X-Simpul-Node"
H_REQUEST = "X-Simpul-Request"
H_SIGNATURE = "X-Simpul-Signature"


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def signing_text(method: str, path: str, node_id: str, request_id: int, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, node_id, str(request_id), body_digest(body)]).encode()


def sign(secret: str, method: str, path: str, node_id: str, request_id: int, body: bytes) -> str:
    return hmac.new(secret.encode(), signing_text(method, path, node_id, request_id, body),
                    hashlib.sha256).hexdigest()


def verify(secret: str, signature: object, method: str, path: str, node_id: str, request_id: int,
           body: bytes) -> bool:
    return same(sign(secret, method, path, node_id, request_id, body), signature)


def sign_response(secret: str, request_id: int, status: int, body: bytes) -> str:
    text = f"response\n{request_id}\n{status}\n{body_digest(body)}".encode()
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def verify_response(secret: str, signature: object, request_id: int, status: int, body: bytes) -> bool:
    """The node's check of an answer: only a server holding the node's secret can have signed it."""
    return same(sign_response(secret, request_id, status, body), signature)


def sign_parcel(secret: str, header: bytes, body: bytes) -> str:
    """Signature of a sneakernet file (:mod:`sync.protocol.parcel`): its header line and body digest.

    The same HMAC and secret as a request, over a text no request can have
    (it starts with "parcel"), so a file can never be replayed as a request.
    """
    text = b"parcel\n" + header + b"\n" + body_digest(body).encode()
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def verify_parcel(secret: str, signature: object, header: bytes, body: bytes) -> bool:
    return same(sign_parcel(secret, header, body), signature)
