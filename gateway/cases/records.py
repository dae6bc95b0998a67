"""Reading requests and moving them through their lifecycle.

Statuses and the allowed moves are a table (``gateway.cases.transitions``);
every change (and every note) is an event row with its own id, which is what
sync pushes. The regional server is the authority, so events that arrive
from it are applied even when the table would refuse them (``enforce=False``),
audited as an override.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlite_utils

from gateway import clock
from gateway.cases import transitions
from gateway.cases.transitions import STATUSES
from gateway.errors import StatusError
from gateway.i18n import N_, gettext
from gateway.intake import codes
from gateway.privacy import audit
from gateway.storage import kv

# Older names of the core key-value API (gateway.storage.kv), kept for callers.
set_kv, get_kv = kv.put, kv.get

STATUS_LABELS = {
    "received": N_("received"),
    "in_progress": N_("in progress"),
    "ready": N_("ready for pickup"),
    "rejected": N_("rejected"),
    "closed": N_("closed"),
}
PUBLIC_COLUMNS = ("tracking_code", "service", "channel", "status", "phone", "created_at",
                  "updated_at", "synced", "locale", "officer", "id", "seq")


def status_label(status: str, locale: str) -> str:
    return gettext(locale, STATUS_LABELS.get(status, status))


_RANK = {"received": 0, "in_progress": 1, "ready": 2, "rejected": 2, "closed": 3}


def can_move(current: str, new: str) -> bool:
    """Whether ``new`` is further along than ``current``: how sync merges concurrent moves.

    What an officer may do is the transitions table (``gateway.cases.transitions``).
    """
    return _RANK[new] > _RANK[current]


def _row(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    row = dict(row)
    if "fields" in row and isinstance(row["fields"], str):
        row["fields"] = json.loads(row["fields"])
    if "synced" in row:
        row["synced"] = bool(row["synced"])
    return row


def get_by_code(db: sqlite_utils.Database, code: str) -> dict[str, Any] | None:
    """Look up by a typed code; raises codes.CodeError when it is not a valid code."""
    canonical = codes.normalize(code)
    rows = db.query("SELECT * FROM requests WHERE tracking_code = ?", [canonical])
    return _row(next(iter(rows), None))


def get(db: sqlite_utils.Database, request_id: str) -> dict[str, Any] | None:
    return _row(next(iter(db.query("SELECT * FROM requests WHERE id = ?", [request_id])), None))


def has_event(db: sqlite_utils.Database, event_id: str) -> bool:
    return db.execute("SELECT 1 FROM status_events WHERE id = ?", [event_id]).fetchone() is not None


def open_note(opener: Any, event_id: str, sealed: bytes | None, clear: str | None) -> str | None:
    """An event's note: opened with ``opener`` (a ``vault.RequestOpener``), else ``vault.SEALED``."""
    from gateway.privacy.sealing import SealError
    from gateway.privacy.vault import SEALED

    if sealed is None:
        return clear
    if opener is None:
        return SEALED
    try:
        return opener.personal(event_id, sealed, purpose="note").get("note")
    except SealError:
        return SEALED


def history(db: sqlite_utils.Database, request_id: str, opener: Any = None) -> list[dict[str, Any]]:
    """A request's events, oldest first; sealed notes opened with ``opener`` or masked."""
    events = []
    for row in db.query(
        "SELECT id, status, actor, at, note, note_sealed, origin, internal FROM status_events "
        "WHERE request_id = ? ORDER BY seq", [request_id],
    ):
        row["note"] = open_note(opener, row["id"], row.pop("note_sealed"), row["note"])
        row["internal"] = bool(row["internal"])
        events.append(row)
    return events


def citizen_note(db: sqlite_utils.Database, request_id: str, status: str) -> str | None:
    """The latest note for the citizen made under ``status`` (a rejection's reason), or None.

    Only notes marked for the citizen are stored readable without a key;
    internal notes are never returned here (the track page and CEK use this).
    """
    row = db.execute(
        "SELECT note FROM status_events WHERE request_id = ? AND status = ? AND internal = 0 AND note IS NOT NULL "
        "AND seq > coalesce((SELECT max(seq) FROM status_events WHERE request_id = ? AND status != ?), 0) "
        "ORDER BY seq DESC LIMIT 1", [request_id, status, request_id, status]).fetchone()
    return row[0] if row else None


def list_requests(
    db: sqlite_utils.Database,
    *,
    status: str | None = None,
    service: str | None = None,
    channel: str | None = None,
    phone: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    where, args = [], []
    for column, value in (("status", status), ("service", service), ("channel", channel), ("phone", phone)):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    sql = "SELECT * FROM requests"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        args += [limit, offset]
    return [_row(r) for r in db.query(sql, args)]


def change_status(
    db: sqlite_utils.Database,
    request_id: str,
    status: str,
    *,
    actor: str,
    note: str | None = None,
    internal: bool | None = None,
    reopen: bool = False,
    event_id: str | None = None,
    origin: str = "node",
    at: str | None = None,
    enforce: bool = True,
    reason: str | None = None,
    vault: Any = None,
    notifier: Any = None,
    notify: bool = True,
) -> dict[str, Any] | None:
    """Record a status event (or a note, when status is unchanged); tell the citizen; return it.

    Run inside a write job. An event id already applied is a no-op that
    returns None, which makes re-delivered events harmless. The move must be
    in the table (``gateway.cases.transitions``; a reopen needs ``reopen``).
    With ``enforce=False`` (the regional server, which is authoritative) a
    move the table refuses is applied and audited as an override.

    A note is for the citizen unless ``internal`` (None: internal, except a
    rejection's reason, which the citizen is always told). A citizen's note
    is stored in clear, as readable as the SMS that carries it; an internal
    note is sealed with ``vault`` (a ``gateway.privacy.vault.Vault``; call
    ``vault.ready()`` first; purpose "note", record id = the event id).
    With ``notifier`` (``gateway.outbox.notices.Notifier``) and ``notify``,
    the citizen's SMS is queued in this same write job.
    """
    if status not in STATUSES:
        raise StatusError(f"unknown status {status!r} (one of: {', '.join(STATUSES)})")
    current = db.execute("SELECT status FROM requests WHERE id = ?", [request_id]).fetchone()
    if current is None:
        raise StatusError(f"no request {request_id}")
    previous = current[0]
    event_id = event_id or str(uuid.uuid4())
    if has_event(db, event_id):
        return None
    note = note or None
    if status == "rejected" and previous != "rejected":
        internal = False  # a rejection's reason is always the citizen's
    elif internal is None:
        internal = True
    internal = bool(internal and note)
    try:
        kind = transitions.check(previous, status, note=bool(note), reopen=reopen or not enforce)
    except StatusError:
        if enforce:
            raise
        kind = "override"
    at = at or clock.utcnow()
    event = {"id": event_id, "request_id": request_id, "status": status, "actor": actor,
             "at": at, "note": note, "origin": origin, "synced": 1 if origin != "node" else 0,
             "internal": int(internal)}
    if status == "rejected" and reason:
        event["reason"] = reason  # the reject_reasons category (checked against the catalog by the caller)
    row = dict(event)
    if internal and vault is not None:
        row["note_sealed"], row["note_sealed_regional"] = vault.seal(event_id, {"note": note}, "note",
                                                                     in_write=True)
        row["note"] = None
    db["status_events"].insert(row)
    db.execute("UPDATE requests SET status = ?, updated_at = ? WHERE id = ?", [status, at, request_id])
    action = {transitions.NOTE: audit.NOTE, transitions.REOPENED: audit.REOPEN,
              "override": audit.STATUS_OVERRIDE}.get(kind, audit.STATUS_CHANGE)
    audit.append(db, actor=actor, action=action, subject=request_id,
                 details={"event_id": event_id, "status": status, "origin": origin, "from": previous})
    if notifier is not None and notify:
        request = get(db, request_id)
        event["notified"] = notifier.notify(db, request, event, previous)
    return event


def queue_stats(db: sqlite_utils.Database) -> dict[str, Any]:
    depth, oldest = db.execute("SELECT count(*), min(created_at) FROM requests WHERE synced = 0").fetchone()
    return {
        "queue_depth": depth,
        "oldest_unsynced_age_s": clock.age_seconds(oldest),
        "last_sync_at": kv.get(db, "last_sync_at"),
    }
