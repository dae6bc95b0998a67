"""Applying a node's push inside the store's transaction: counter claim, epochs, requests, events.

Shared by both engines (statements through :mod:`sync.regional.dbapi`). The
per-row request insert here is SQLite's; PostgreSQL replaces it with a
COPY-based batch (:mod:`sync.regional.pg_ingest`) with the same outcomes.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.cases.records import STATUSES
from sync.errors import RegionalError, ReplayError
from sync.protocol.wire import b64, content_digest, event_digest
from sync.regional import analytics, audit_chain, parcel_log, sealkeys
from sync.regional.casework import APPLIED_MOVE, node_event_applies
from sync.regional.dbapi import Db
from sync.regional.parcel_log import ParcelClaim
from sync.regional.sealkeys import RegionalOpener, Unopenable, note_text

EVENT_COLUMNS = ("id", "request_id", "node_id", "status", "actor", "at", "note", "origin", "received_at",
                 "applied", "note_problem", "internal", "reopen")


def claim(db: Db, node_id: str, counter: int | ParcelClaim, now: str) -> None:
    """Advance the node's counter or raise ReplayError (first statement of every job).

    A batch from a file claims its file id instead (AlreadyImported if seen).
    """
    if isinstance(counter, ParcelClaim):
        parcel_log.record(db, node_id, counter, now)
        return
    cur = db.execute("UPDATE nodes SET last_counter = ?, last_seen_at = ? WHERE id = ? AND last_counter < ?",
                     [counter, now, node_id, counter])
    if cur.rowcount != 1:
        row = db.execute("SELECT last_counter FROM nodes WHERE id = ?", [node_id]).fetchone()
        raise ReplayError(row[0] if row else 0)


def audit_head(db: Db, node_id: str) -> tuple[int, str]:
    row = db.execute("SELECT seq, hash FROM audit_entries WHERE node_id = ? ORDER BY seq DESC LIMIT 1",
                     [node_id]).fetchone()
    return (row[0], row[1]) if row else (0, audit_chain.GENESIS)


def conflict(db: Db, kind: str, node_id: str, request_id: str, code: str | None, detail: dict[str, Any],
             digest: str, now: str) -> int:
    cur = db.execute(
        "INSERT INTO conflicts (kind, node_id, request_id, tracking_code, detail, digest, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, request_id, digest) DO NOTHING",
        [kind, node_id, request_id, code, json.dumps(detail, ensure_ascii=False), digest, now])
    return cur.rowcount


def content_conflict(db: Db, node_id: str, r: dict[str, Any], now: str) -> int:
    """Same request UUID, other content (or another node): recorded once, never overwritten."""
    detail = dict(r["raw"], node_id=node_id, sealed_regional=b64(r["sealed"]))
    return conflict(db, "content", node_id, r["id"], r["tracking_code"], detail, r["digest"], now)


def code_clash(db: Db, node_id: str, r: dict[str, Any], other_id: str, other_node: str, now: str) -> int:
    detail = {"other_request": other_id, "other_node": other_node, "node_id": node_id}
    return conflict(db, "tracking_code", node_id, r["id"], r["tracking_code"], detail, r["digest"], now)


def event_detail(e: dict[str, Any], node_id: str) -> dict[str, Any]:
    return dict(e, node_id=node_id, note_sealed_regional=b64(e.get("note_sealed_regional")))


def store_epochs(db: Db, node_id: str, epochs: dict[int, dict[str, Any]], now: str) -> None:
    # An epoch id names one key pair forever on a node: the first public key
    # received wins (a different one later can only make records unopenable,
    # which flags them; it never silently changes what older records open with).
    db.executemany(
        "INSERT INTO seal_epochs (node_id, id, public, regional_key, received_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (node_id, id) DO NOTHING",
        [(node_id, i, e["public"], e["regional_key"], now) for i, e in epochs.items()])


def epochs_of(db: Db, node_id: str, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r[0]: {"public": bytes(r[1]), "regional_key": r[2]} for r in db.execute(
        f"SELECT id, public, regional_key FROM seal_epochs WHERE node_id = ? AND id IN ({marks})",
        [node_id, *sorted(ids)]).fetchall()}


def epoch_ids(blobs: list[bytes | None]) -> set[int]:
    from gateway.privacy.sealing import SealError, epoch_of

    ids = set()
    for blob in blobs:
        if blob is not None:
            try:
                ids.add(epoch_of(blob))
            except SealError:
                pass
    return ids


def prepare_requests(db: Db, node_id: str, requests: list[dict[str, Any]], epochs: dict[int, dict[str, Any]],
                     opener: RegionalOpener | None, now: str) -> list[dict[str, Any]]:
    """Store the epochs, then each request as the row to insert (digest, fields JSON, seal check)."""
    store_epochs(db, node_id, epochs, now)
    known = epochs_of(db, node_id, epoch_ids([r.get("sealed_regional") for r in requests]))
    rows = []
    for r in requests:
        sealed = r.get("sealed_regional")
        # Checked now (never fatal: an unopenable copy is stored and flagged,
        # or the node would resend it forever); opened again when viewed.
        rows.append({"raw": r, "id": r["id"], "node_seq": r["seq"], "tracking_code": r["tracking_code"],
                     "service": r["service"], "channel": r["channel"], "phone": r["phone"],
                     "locale": r["locale"], "officer": r["officer"],
                     "fields": json.dumps(r["fields"], ensure_ascii=False, sort_keys=True),
                     "created_at": r["created_at"], "digest": content_digest(r), "sealed": sealed,
                     "problem": opener.problem(r["id"], sealed, known) if opener is not None else None})
    return rows


def insert_requests_rowwise(db: Db, node_id: str, rows: list[dict[str, Any]], now: str,
                            summary: dict[str, int]) -> list[str]:
    """SQLite: one INSERT … ON CONFLICT per request, then the same checks a batch makes; the new ids."""
    new = []
    for r in rows:
        cur = db.execute(
            "INSERT INTO requests (id, node_id, node_seq, tracking_code, service, channel, phone, locale, "
            "officer, fields, created_at, received_at, updated_at, digest, sealed, seal_problem) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            [r["id"], node_id, r["node_seq"], r["tracking_code"], r["service"], r["channel"], r["phone"],
             r["locale"], r["officer"], r["fields"], r["created_at"], now, now, r["digest"], r["sealed"],
             r["problem"]])
        if cur.rowcount == 0:
            old = db.execute("SELECT digest, node_id FROM requests WHERE id = ?", [r["id"]]).fetchone()
            if old[0] == r["digest"] and old[1] == node_id:
                summary["same"] += 1
            else:
                summary["conflicts"] += content_conflict(db, node_id, r, now)
            continue
        summary["new"] += 1
        new.append(r["id"])
        summary["unopenable"] += r["problem"] is not None
        clash = db.execute("SELECT id, node_id FROM requests WHERE tracking_code = ? AND id != ? LIMIT 1",
                           [r["tracking_code"], r["id"]]).fetchone()
        if clash is not None:
            summary["code_clashes"] += code_clash(db, node_id, r, clash[0], clash[1], now)
        db.execute("INSERT INTO events (id, request_id, node_id, status, actor, at, note, origin, received_at) "
                   "VALUES (?, ?, ?, 'received', ?, ?, NULL, 'node', ?)",
                   [f"recv:{r['id']}", r["id"], node_id, r["officer"] or r["channel"], r["created_at"], now])
    return new


def open_notes(events: list[dict[str, Any]], opener: RegionalOpener | None,
               known: dict[int, dict[str, Any]]) -> None:
    """A node note arrives sealed; this server keeps notes in clear (docs/sync-protocol.md)."""
    for e in events:
        if e["status"] not in STATUSES:
            raise RegionalError(f"unknown status {e['status']!r}")
        e["note_problem"] = None
        if e.get("note_sealed_regional") is not None:
            try:
                if opener is None:
                    raise Unopenable(sealkeys.UNKNOWN_KEY)
                e["note"] = note_text(opener.open(e["id"], e["note_sealed_regional"], known, "note"))
            except Unopenable as exc:
                e["note"], e["note_problem"] = None, exc.problem


def apply_events(store: Any, db: Db, node_id: str, events: list[dict[str, Any]],
                 now: str) -> dict[str, int]:
    """Each event: a resend (same), a conflict, unknown request (kept as conflict), or applied."""
    summary = {"new": 0, "same": 0, "conflicts": 0, "unknown": 0}
    for e in events:
        old = store.event_by_id(db, e["id"])
        if old is not None:
            if tuple(old) == (e["request_id"], e["status"], e["note"], node_id):
                summary["same"] += 1
            else:
                summary["conflicts"] += conflict(db, "event", node_id, e["request_id"], None,
                                                 event_detail(e, node_id), event_digest(e), now)
            continue
        req = db.execute("SELECT status FROM requests WHERE node_id = ? AND id = ?",
                         [node_id, e["request_id"]]).fetchone()
        if req is None:
            # Never drop it: keep it visible for a case worker.
            summary["unknown"] += conflict(db, "event", node_id, e["request_id"], None,
                                           dict(event_detail(e, node_id), problem="unknown request"),
                                           event_digest(e), now)
            continue
        applied, reopen = node_event_applies(req[0], e)
        store.insert_event(db, {"id": e["id"], "request_id": e["request_id"], "node_id": node_id,
                                "status": e["status"], "actor": e["actor"], "at": e["at"], "note": e["note"],
                                "origin": "node", "received_at": now, "applied": applied,
                                "note_problem": e["note_problem"], "internal": int(bool(e.get("internal"))),
                                "reopen": int(reopen)})
        if applied == APPLIED_MOVE and e["status"] != req[0]:
            db.execute("UPDATE requests SET status = ?, updated_at = ? WHERE node_id = ? AND id = ?",
                       [e["status"], now, node_id, e["request_id"]])
        if applied == APPLIED_MOVE:
            analytics.on_status(db, store.analytics, node_id, e["request_id"], e["status"], e["at"],
                                e.get("reason"))
        summary["new"] += 1
    return summary
