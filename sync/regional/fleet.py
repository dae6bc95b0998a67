"""The fleet view's ordering: silent nodes first, then the column a case worker sorts by.

Pure functions over ``RegionalStore.nodes()`` rows, shared by ``/nodes``.
A node is *silent* when its last acknowledged push (``last_sync_at``; its
registration, if it never pushed) is older than ``[regional] silent_after_hours``: those
villages need a phone call, so they come first whatever the sort.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gateway import clock

SORTS = ("id", "name", "last_sync_at", "requests", "queue_depth", "oldest_unsynced_age_s", "version",
         "disk_free_mb", "clock_offset_s", "open_threads")
SHOWS = ("all", "silent", "flagged")


def is_silent(row: dict[str, Any], now: dt.datetime, hours: float) -> bool:
    # A node that never pushed counts from its registration: a fresh one is not silent yet.
    last = row.get("last_sync_at") or row.get("created_at")
    return last is None or (now - clock.parse(last)).total_seconds() > hours * 3600


def arrange(rows: list[dict[str, Any]], *, now: dt.datetime, silent_after_hours: float, sort: str = "id",
            descending: bool = False, show: str = "all", query: str = "") -> list[dict[str, Any]]:
    """Rows marked ``silent``, filtered (``show``, text ``query`` on id, name, version), silent first,
    then by ``sort`` (unknown values last); an unknown sort or show falls back to the default."""
    sort = sort if sort in SORTS else "id"
    show = show if show in SHOWS else "all"
    needle = query.strip().lower()
    out = []
    for row in rows:
        row = dict(row, silent=is_silent(row, now, silent_after_hours))
        if show == "silent" and not row["silent"] or show == "flagged" and not row["flagged"]:
            continue
        if needle and not any(needle in str(row.get(k) or "").lower() for k in ("id", "name", "version")):
            continue
        out.append(row)
    known = sorted((r for r in out if r.get(sort) is not None), key=lambda r: r[sort], reverse=descending)
    ordered = known + [r for r in out if r.get(sort) is None]
    return sorted(ordered, key=lambda r: not r["silent"])  # stable: the sort holds within each group


def health_update(node_id: str, health: dict[str, Any] | None, now: Any) -> tuple[str, list[Any]]:
    """Portable UPDATE (SQL, args) recording a push at ``now`` (a datetime) and its health."""
    at = clock.to_iso(now)
    if health is None:
        return "UPDATE nodes SET last_sync_at = ? WHERE id = ?", [at, node_id]
    offset = round((clock.parse(health["clock"]) - now).total_seconds())
    refused = health.get("catalog_refused")  # the catalog the node refuses; None clears an earlier one
    return ("UPDATE nodes SET last_sync_at = ?, health_at = ?, queue_depth = ?, oldest_unsynced_age_s = ?, "
            "version = ?, disk_free_mb = ?, clock_offset_s = ?, reported_audit_seq = ?, reported_audit_hash = ?, "
            "open_threads = ?, catalog_refused = ? WHERE id = ?",
            [at, at, health["queue_depth"], health["oldest_unsynced_age_s"], health["version"],
             health["disk_free_mb"], offset, health["audit_seq"], health["audit_hash"], health.get("open_threads"),
             json.dumps(refused) if refused else None, node_id])
