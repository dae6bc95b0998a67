"""A node's health, carried in the body of every push (so the request signature covers it).

The regional fleet view (``/nodes``, ``simpul regional nodes --json``) needs to
know which villages stopped syncing, are filling up, or run a wrong clock,
without anyone visiting them. The node adds a small ``health`` object to each
push; an old server ignores it, a new server records it with the push.
"""

from __future__ import annotations

from typing import Any

from gateway import clock
from sync.errors import ProtocolError

FIELDS = ("queue_depth", "oldest_unsynced_age_s", "version", "clock", "disk_free_mb", "audit_head", "open_threads",
          "catalog_refused")
MAX_TEXT = 64
MAX_FIELDS = 200


def _count(value: Any, what: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value > 2**53:
        raise ProtocolError(f"health {what} must be a non-negative number")
    return int(value)


def _time(value: Any, what: str) -> str:
    try:
        moment = clock.parse(value) if isinstance(value, str) and len(value) <= MAX_TEXT else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ProtocolError(f"health {what} must be a UTC ISO-8601 time")
    return clock.to_iso(moment)


def _refusal(raw: Any) -> dict[str, Any] | None:
    """``catalog_refused``: the catalog version the node refused, the ``service.field`` names it
    would have unsealed, and since when; None (or absent) when the node runs the newest catalog."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProtocolError("health catalog_refused must be an object or null")
    fields = raw.get("fields")
    if (not isinstance(fields, list) or not 0 < len(fields) <= MAX_FIELDS
            or not all(isinstance(f, str) and 0 < len(f) <= MAX_TEXT and f.isprintable() for f in fields)):
        raise ProtocolError("health catalog_refused fields must be a list of short printable names")
    return {"version": _count(raw.get("version"), "catalog_refused version"), "fields": fields,
            "at": _time(raw.get("at"), "catalog_refused at")}


def decode(message: Any) -> dict[str, Any] | None:
    """The ``health`` of a push message, checked; None when the node sent none (an older node)."""
    raw = message.get("health") if isinstance(message, dict) else None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProtocolError("health must be an object")
    version, at, head = raw.get("version"), raw.get("clock"), raw.get("audit_head")
    if not isinstance(version, str) or not 0 < len(version) <= MAX_TEXT or not version.isprintable():
        raise ProtocolError("health version must be a short printable string")
    moment = _time(at, "clock")
    if not isinstance(head, list) or len(head) != 2 or not isinstance(head[1], str) or len(head[1]) != 64:
        raise ProtocolError("health audit_head must be [seq, hash]")
    return {"queue_depth": _count(raw.get("queue_depth"), "queue_depth"),
            "oldest_unsynced_age_s": _count(raw.get("oldest_unsynced_age_s"), "oldest_unsynced_age_s",
                                            optional=True),
            "version": version, "clock": moment,
            "disk_free_mb": _count(raw.get("disk_free_mb"), "disk_free_mb", optional=True),
            # citizens' questions waiting at the kiosk (gateway/inbox); None from a node before the inbox
            "open_threads": _count(raw.get("open_threads"), "open_threads", optional=True),
            "audit_seq": _count(head[0], "audit_head seq"), "audit_hash": head[1],
            "catalog_refused": _refusal(raw.get("catalog_refused"))}
