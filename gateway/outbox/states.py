"""Delivery states as people see them: queued, sent, delivered, failed, and "sent but never reported".

A message that sits at ``sent`` for over ``STUCK_HOURS`` without a final
report is flagged: CHT users asked for this after duplicate work caused by
messages that looked unsent. Used by the kiosk's request page and
``simpul outbox``; the states themselves are written by
``gateway.outbox.delivery``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlite_utils

from gateway import clock
from gateway.i18n import N_

STUCK_HOURS = 24
LABELS = {
    "queued": N_("queued"), "sending": N_("sending"), "sent": N_("sent"), "delivered": N_("delivered"),
    "undelivered": N_("not delivered"), "failed": N_("failed"),
}
NO_REPORT = N_("no delivery report for over 24 hours")


def for_request(db: sqlite_utils.Database, request_id: str) -> list[dict[str, Any]]:
    """Every SMS sent about one request, oldest first (no bodies: the page needs the state only)."""
    return list(db.query(
        'SELECT id, "to", kind, status, provider, created_at, sent_at, updated_at, last_error, error_code '
        "FROM outbound WHERE request_id = ? ORDER BY id", [request_id]))


def stuck(row: dict[str, Any], now: dt.datetime | None = None) -> bool:
    """Sent (handed over) more than ``STUCK_HOURS`` ago and never reported delivered or failed."""
    if row.get("status") != "sent" or not row.get("sent_at"):
        return False
    return clock.parse(row["sent_at"]) < (now or clock.now()) - dt.timedelta(hours=STUCK_HOURS)
