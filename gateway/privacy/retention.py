"""Retention: purge personal data once it is no longer needed (UU 27/2022, Pasal 44).

A request's personal fields are kept while the case is open and until the
regional server has acknowledged it (``synced``); once it has been closed for
``retention.days`` the node keeps only code, service, status and the
non-personal fields, and forgets the phone number. Citizen inbox messages
(questions and answers, ``gateway.inbox``) go whole ``retention.days`` after
their thread was handled. Other packages that hold
personal data about a request (inbound message logs, USSD drafts; the core's
outbound SMS are purged here) are parts with a ``purge_request(db, request_id)`` hook
(``gateway.parts``), run in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json

import sqlite_utils

from gateway import clock, parts
from gateway.inbox import threads as inbox
from gateway.intake.catalog import Catalog
from gateway.outbox import queue as outbox
from gateway.privacy import lookup


def due(db: sqlite_utils.Database, days: int, now: dt.datetime | None = None) -> list[dict]:
    cutoff = clock.to_iso((now or clock.now()) - dt.timedelta(days=days))
    return list(db.query(
        "SELECT r.id, r.service, r.fields FROM requests r "
        "WHERE r.purged_at IS NULL AND r.synced = 1 AND r.status = 'closed' AND "
        "(SELECT max(at) FROM status_events e WHERE e.request_id = r.id AND e.status = 'closed') <= ?",
        [cutoff],
    ))


def purge(db: sqlite_utils.Database, catalog: Catalog, days: int, now: dt.datetime | None = None) -> int:
    """Purge every request that is due, and inbox threads handled ``days`` ago; run inside a write job.

    Returns how many requests.
    """
    inbox.purge(db, days, now)
    rows = due(db, days, now)
    stamp = clock.to_iso(now or clock.now())
    for row in rows:
        service = catalog.service(row["service"])
        personal = {f.name for f in service.fields if f.personal} if service else None
        fields = json.loads(row["fields"]) if row["fields"] else {}
        kept = {k: v for k, v in fields.items() if personal is not None and k not in personal}
        # The sealed copies go whole: they hold personal values only.
        db.execute("UPDATE requests SET fields = ?, phone = NULL, sealed = NULL, sealed_regional = NULL, "
                   "purged_at = ? WHERE id = ?", [json.dumps(kept, sort_keys=True), stamp, row["id"]])
        lookup.forget(db, row["id"])
        db.execute("UPDATE status_events SET note = NULL, note_sealed = NULL, note_sealed_regional = NULL WHERE request_id = ?", [row["id"]])
        outbox.purge_request(db, row["id"])
        parts.call("purge_request", db, row["id"])
    return len(rows)


def register(scheduler, app) -> None:  # noqa: ANN001 - APScheduler and Flask objects
    """Run the purge every six hours inside ``simpul serve``."""
    from gateway.app import node_of

    def job() -> None:
        node = node_of(app)
        node.store.write(lambda db: purge(db, node.catalog, node.config["retention.days"]))

    scheduler.add_job(job, "interval", hours=6, id="retention", next_run_time=clock.now())
