"""The sync endpoints nodes talk to (``/sync/v1/...``), all signed.

Order of checks for every request, all before any write: the node is known
and the HMAC over method, path, node id, request id and body digest is right
(else 401, one answer for both, so node ids cannot be enumerated); the
request id is newer than the last accepted one (else 409, with the last one
so a node restored from an old backup can jump ahead).
The counter is then advanced in the same transaction as the data, so the
answer "acked" always means "committed with fsync".
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from gateway.intake import catalog_format
from sync.errors import ProtocolError, RegionalError, ReplayError
from sync.protocol import health, pullseal, signing, wire
from sync.regional import analytics
from sync.regional.secretbox import SecretUnopenable
from sync.regional.store import RegionalStore

log = logging.getLogger(__name__)

bp = Blueprint("sync_api", __name__, url_prefix=signing.PREFIX)
MAX_PULL = 5000
UNAUTHENTICATED = "unknown node or bad signature"
_DECOY_SECRET = secrets.token_urlsafe(32)


def store_of(app: Flask) -> RegionalStore:
    return app.extensions["simpul_regional"]


def _plain(status: int, error: str, **extra: Any) -> Response:
    return Response(wire.dumps({"error": error, **extra}), status=status, mimetype="application/json")


def _signed(secret: str, counter: int, status: int, payload: Any) -> Response:
    body = wire.pack(payload)
    resp = Response(body, status=status, mimetype="application/x-simpul-batch")
    resp.headers[signing.H_SIGNATURE] = signing.sign_response(secret, counter, status, body)
    return resp


def _refused() -> Response:
    # One answer, byte for byte, for every way authentication fails: an
    # "unknown node" that differed from "bad signature" let anyone list node ids.
    return _plain(401, UNAUTHENTICATED)


def _handle(op: Callable[[str, int, Any], Any]) -> Response:
    node_id = request.headers.get(signing.H_NODE, "")
    raw_counter = request.headers.get(signing.H_REQUEST, "")
    body = request.get_data(cache=False)
    try:
        node = store_of(current_app).node(node_id) if node_id else None
    except SecretUnopenable as exc:  # its sealed secret does not open here: refused like a stranger
        log.warning("%s", exc)
        node = None
    # The HMAC is computed for strangers too (over a throwaway secret), so the
    # answer takes as long for an unknown node as for a known one.
    secret = node["secret"] if node is not None else _DECOY_SECRET
    counter = int(raw_counter) if raw_counter.isascii() and raw_counter.isdigit() else -1
    valid = signing.verify(secret, request.headers.get(signing.H_SIGNATURE, ""), request.method,
                           request.path, node_id, counter, body)
    if node is None or counter < 0 or not valid:
        return _refused()
    if counter <= node["last_counter"]:
        return _signed(node["secret"], counter, 409, {"error": "replayed request id", "last": node["last_counter"]})
    try:
        message = wire.unpack(body)
        result = op(node_id, counter, message)
    except ReplayError as exc:
        return _signed(node["secret"], counter, 409, {"error": "replayed request id", "last": exc.last_counter})
    except (ProtocolError, RegionalError) as exc:
        return _signed(node["secret"], counter, 400, {"error": str(exc)})
    return _signed(node["secret"], counter, 200, result)


def _push_requests(node_id: str, counter: int, message: Any) -> dict[str, Any]:
    requests = wire.decode_requests(message)
    analytics.check_categories(store_of(current_app).analytics, requests)
    epochs = wire.decode_epochs(message)
    reported = health.decode(message)
    summary = store_of(current_app).push_requests(node_id, counter, requests, epochs)
    store_of(current_app).record_health(node_id, reported)
    return {"acked": max((r["seq"] for r in requests), default=0), "n": len(requests), **summary}


def _push_events(node_id: str, counter: int, message: Any) -> dict[str, Any]:
    events = wire.decode_events(message)
    for e, reason in zip(events, wire.decode_reasons(message, len(events)), strict=True):
        e["reason"] = reason
    ratings = wire.decode_ratings(message)
    reported = health.decode(message)
    summary = store_of(current_app).push_events(node_id, counter, events, wire.decode_epochs(message),
                                                ratings=ratings)
    store_of(current_app).record_health(node_id, reported)
    return {"acked": max((e["seq"] for e in events), default=0), "n": len(events), **summary}


def _pull(node_id: str, counter: int, message: Any) -> dict[str, Any]:
    if not isinstance(message, dict) or not isinstance(message.get("cursor"), int):
        raise ProtocolError("pull needs an integer cursor")
    limit = message.get("limit", 500)
    limit = max(1, min(MAX_PULL, limit if isinstance(limit, int) else 500))
    key = pullseal.node_key(message)  # before the counter is claimed: junk changes nothing
    rows, cursor, more = store_of(current_app).pull(node_id, counter, message["cursor"], limit)
    return pullseal.answer(rows, key, cursor=cursor, more=more)


def _push_audit(node_id: str, counter: int, message: Any) -> dict[str, Any]:
    prev, head, entries = wire.decode_audit(message)
    reported = health.decode(message)
    answer = store_of(current_app).push_audit(node_id, counter, prev, head, entries)
    store_of(current_app).record_health(node_id, reported)
    return answer


def _catalog(node_id: str, counter: int, message: Any) -> dict[str, Any]:
    have = message.get("version") if isinstance(message, dict) else None
    if not isinstance(have, int):
        raise ProtocolError("catalog needs the node's integer version")
    store_of(current_app).claim(node_id, counter)
    version = current_app.extensions["simpul_regional_catalog"][0]
    fmt = catalog_format.declared_format(message)
    text = current_app.extensions["simpul_regional_catalog_formats"][fmt]
    return {"version": version, "format": fmt, "toml": text if version > have else None}


@bp.post("/requests")
def push_requests() -> Response:
    return _handle(_push_requests)


@bp.post("/events")
def push_events() -> Response:
    return _handle(_push_events)


@bp.post("/pull")
def pull() -> Response:
    return _handle(_pull)


@bp.post("/catalog")
def catalog() -> Response:
    return _handle(_catalog)


@bp.post("/audit")
def push_audit() -> Response:
    return _handle(_push_audit)


# The same handlers apply a batch carried on a USB stick (sync.regional.sneakernet, inside an app
# context), with a file claim (sync.regional.parcel_log.ParcelClaim) in place of the request counter.
OPS: dict[str, Callable[[str, Any, Any], Any]] = {
    "requests": _push_requests, "events": _push_events, "audit": _push_audit, "pull": _pull, "catalog": _catalog}
