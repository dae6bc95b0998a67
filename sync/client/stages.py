"""The node's sync pass as ordered stages of small operations (in the style of morango).

Each operation moves at most one batch and returns a status: ``PENDING``
(call again, more to move), ``COMPLETED`` (stage done) — or raises a
:class:`sync.errors.SyncError`. Every operation commits its local effect
only after the server confirmed a durable commit, in ONE local transaction
with the high-water mark / cursor it moves, so a crash anywhere resumes
from the last confirmed point and at worst resends what the server already
has (an identical resend is a no-op there).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from gateway.cases.records import change_status, set_kv
from gateway.intake import guard
from gateway.intake.catalog import CATALOG_FORMAT, check_text
from gateway.node import Node
from gateway.outbox.notices import Notifier
from gateway.privacy.audit import GENESIS
from gateway.privacy.sealing import SealError, epoch_of
from sync.client import health, state
from sync.client.batching import BatchSizer
from sync.client.transport import Transport
from sync.errors import ProtocolError, ServerError
from sync.protocol import pullseal, wire


class Stage:
    PUSH_REQUESTS = "push_requests"
    PUSH_EVENTS = "push_events"
    PULL = "pull"
    CATALOG = "catalog"
    PUSH_AUDIT = "push_audit"
    # The audit stage runs last: pulling writes audit entries (status changes
    # by case workers), so after a pass the regional copy ends at the node's
    # head; and a refused (flagged) audit trail never holds up a citizen's
    # request, event or status update.
    ORDER = (PUSH_REQUESTS, PUSH_EVENTS, PULL, CATALOG, PUSH_AUDIT)


class Status:
    PENDING = "pending"
    COMPLETED = "completed"


@dataclass
class PassContext:
    node: Node
    transport: Transport
    batch: BatchSizer
    moved: dict[str, int] = field(default_factory=lambda: {
        "requests": 0, "events": 0, "pulled": 0, "notified": 0, "conflicts": 0, "catalog_version": 0,
        "audit": 0})
    audit_flag: str | None = None  # the regional server refused the audit trail: its problem code
    awaiting_seal: int = 0  # requests held back: no regional copy yet and no officer session to make one
    progress: Callable[[str, int], None] | None = None

    def report(self, stage: str, n: int) -> None:
        if self.progress is not None:
            self.progress(stage, n)


REQUEST_SQL = ("SELECT seq, id, tracking_code, service, channel, phone, locale, officer, created_at, fields, "
               "sealed, sealed_regional FROM requests WHERE synced = 0 AND seq > ? ORDER BY seq LIMIT ?")
# Sealed while sync.regional_key was empty: personal fields, but no regional copy.
WAITING_SQL = ("SELECT count(*) FROM requests WHERE synced = 0 AND seq > ? AND sealed IS NOT NULL "
               "AND sealed_regional IS NULL")
# "before" is the node's status just before the event: equal to the event's
# status means a note, which must never move the case at the regional server.
EVENT_SQL = ("SELECT e.seq, e.id, e.request_id, e.status, e.actor, e.at, e.note, e.note_sealed, "
             "e.note_sealed_regional, e.internal, e.reason, "
             "(SELECT p.status FROM status_events p WHERE p.request_id = e.request_id AND p.seq < e.seq "
             "ORDER BY p.seq DESC LIMIT 1) AS before FROM status_events e "
             "JOIN requests r ON r.id = e.request_id "
             "WHERE e.synced = 0 AND e.origin = 'node' AND e.seq > ? AND (r.synced = 1 OR (r.seq <= ? "
             # an unsynced request's own "received" event travels with the request (mark_requests)
             "AND e.seq IS NOT (SELECT min(f.seq) FROM status_events f WHERE f.request_id = e.request_id "
             "AND f.status = 'received' AND f.origin = 'node'))) ORDER BY e.seq LIMIT ?")
# EVENT_SQL's arguments for a pass: every unsynced event of a synced request. A sneakernet export
# (sync.client.sneakernet) also takes those of the requests written to the same export.
ONLY_SYNCED = (0, -1)

WAITING_NOTES_SQL = ("SELECT count(*) FROM status_events WHERE synced = 0 AND origin = 'node' "
                     "AND note_sealed IS NOT NULL AND note_sealed_regional IS NULL")

# Citizens' ratings (the web channel's feedback table; the comment never leaves
# the node), in the order given, up to the first whose request is not pushed yet.
RATINGS_SQL = ("SELECT f.rowid, f.request_id, f.rating, r.synced FROM feedback f "
               "JOIN requests r ON r.id = f.request_id WHERE f.rowid > ? ORDER BY f.rowid LIMIT ?")

AUDIT_SQL = ("SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log "
             "WHERE seq > ? ORDER BY seq LIMIT ?")
# The entry the server acknowledged last: sent as the head when nothing is new,
# so a chain rewritten below it is noticed even on a quiet day. If that entry
# is gone from the node, the head claims 64 zeros there: no held hash matches.
AUDIT_ACKED_SQL = "SELECT hash FROM audit_log WHERE seq = ?"


PUSH_PATHS = ("/requests", "/events", "/audit")


def with_health(node: Node, payload: dict[str, Any]) -> dict[str, Any]:
    """Every push tells the fleet view how this node is doing (a file on a stick too)."""
    return {**payload, "health": health.report(node)}


def _timed_call(ctx: PassContext, path: str, payload: Any, full: bool) -> Any:
    if path in PUSH_PATHS:
        payload = with_health(ctx.node, payload)
    started = time.monotonic()
    answer = ctx.transport.call(path, payload)
    ctx.batch.succeeded(time.monotonic() - started, full)
    return answer


def _check_ack(answer: Any, seqs: list[int]) -> None:
    if not isinstance(answer, dict) or answer.get("acked") != seqs[-1] or answer.get("n") != len(seqs):
        raise ServerError("the server's ack does not match the batch sent: nothing marked")




def reseal_for_region(node: Node, records: list[tuple[str, bytes]], purpose: str = "fields") -> dict[str, bytes]:
    """Regional copies of node-sealed ``records`` ((record id, node copy), in order), made
    with a logged-in officer's node keys; {} when no live session holds one.

    Stops at the first record no live session can open (order by seq is
    kept). The node copy is opened in memory only; the new regional copies
    go under one fresh epoch. The caller writes them (one transaction).
    """
    held = node.keyring.any_keys()
    if not held:
        return {}
    opener = node.vault.opener(held)
    items = []
    for record_id, blob in records:
        try:
            items.append((record_id, opener.personal(record_id, blob, purpose)))
        except SealError:
            break
    if not items:
        return {}
    blobs = node.vault.seal_regional(items, purpose)
    return {record_id: blob for (record_id, _), blob in zip(items, blobs, strict=True)}


def _write_copies(node: Node, table: str, column: str, copies: dict[str, bytes]) -> None:
    def write(db: sqlite_utils.Database) -> None:
        db.conn.executemany(f"UPDATE {table} SET {column} = ? WHERE id = ? AND {column} IS NULL",
                            [(blob, rid) for rid, blob in copies.items()])

    node.store.write(write)


def _with_regional_copies(ctx: PassContext, rows: list[dict[str, Any]], read: Callable[[], list[dict[str, Any]]],
                          table: str, node_col: str, regional_col: str, purpose: str) -> tuple[
                              list[dict[str, Any]], bool]:
    """(the rows up to the first one still without a regional copy, whether one was held back).

    Rows sealed while ``sync.regional_key`` was empty get their regional copy
    now if a live officer session holds the node key (then ``read`` fetches the
    batch again); a row no session can seal holds back itself and all after it,
    so the order by seq is kept.
    """
    def lacks(r: dict[str, Any]) -> bool:
        return r[node_col] is not None and r[regional_col] is None

    if not any(lacks(r) for r in rows):
        return rows, False
    copies = reseal_for_region(ctx.node, [(r["id"], r[node_col]) for r in rows if lacks(r)], purpose)
    if copies:
        _write_copies(ctx.node, table, regional_col, copies)
        rows = read()
    cut = next((i for i, r in enumerate(rows) if lacks(r)), None)
    return (rows, False) if cut is None else (rows[:cut], True)


def epochs_for(db: sqlite_utils.Database, blobs: list[bytes | None]) -> dict[int, tuple[bytes, bytes | None]]:
    """The seal epochs the blobs refer to: id -> (epoch public key, regional key)."""
    ids = sorted({epoch_of(b) for b in blobs if b is not None})
    if not ids:
        return {}
    rows = db.execute(f"SELECT id, public, regional_key FROM seal_epochs WHERE id IN ({','.join('?' * len(ids))})",
                      ids).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def request_batch(ctx: PassContext, after: int) -> tuple[list[int], dict[str, Any] | None]:
    """(seqs, push body) of the next unsynced requests after seq ``after``, in seq order.

    A request without a regional copy (sealed while ``sync.regional_key`` was
    empty) is re-sealed first when an officer's session holds the node key;
    otherwise the batch stops just before it and ``ctx.awaiting_seal`` says how many wait.
    """
    db = ctx.node.store.read()
    size = ctx.batch.size
    rows, held = _with_regional_copies(ctx, list(db.query(REQUEST_SQL, [after, size])),
                                       lambda: list(db.query(REQUEST_SQL, [after, size])),
                                       "requests", "sealed", "sealed_regional", "fields")
    if held:
        ctx.awaiting_seal = db.execute(WAITING_SQL, [state.get(db, "requests_hwm")]).fetchone()[0]
    if not rows:
        return [], None
    for r in rows:
        r["fields"] = json.loads(r["fields"])
    epochs = epochs_for(db, [r["sealed_regional"] for r in rows])
    return [r["seq"] for r in rows], wire.encode_requests(rows, epochs)


def push_requests(ctx: PassContext) -> str:
    """Push the next batch of unsynced requests in seq order (see :func:`request_batch`)."""
    size = ctx.batch.size
    seqs, payload = request_batch(ctx, state.get(ctx.node.store.read(), "requests_hwm"))
    if payload is None:
        return Status.COMPLETED
    answer = _timed_call(ctx, "/requests", payload, len(seqs) == size)
    _check_ack(answer, seqs)
    ctx.node.store.write(lambda wdb: mark_requests(wdb, seqs[0], seqs[-1]))
    ctx.moved["requests"] += len(seqs)
    ctx.moved["conflicts"] += int(answer.get("conflicts", 0)) + int(answer.get("code_clashes", 0))
    ctx.report(Stage.PUSH_REQUESTS, len(seqs))
    if ctx.awaiting_seal:
        return Status.COMPLETED  # stopped at a request that waits for an officer: order is kept
    return Status.PENDING if len(seqs) == size else Status.COMPLETED


def mark_requests(db: sqlite_utils.Database, first: int, last: int) -> None:
    # The pipeline's own "received" event (the first of each request) travels
    # with the request itself, so it is marked here too.
    db.execute("UPDATE status_events SET synced = 1 WHERE seq IN (SELECT min(e.seq) FROM status_events e "
               "JOIN requests r ON r.id = e.request_id WHERE r.seq BETWEEN ? AND ? AND r.synced = 0 "
               "AND e.status = 'received' AND e.origin = 'node' GROUP BY e.request_id)", [first, last])
    db.execute("UPDATE requests SET synced = 1 WHERE seq BETWEEN ? AND ? AND synced = 0", [first, last])
    state.raise_to(db, "requests_hwm", last)


def event_batch(ctx: PassContext, after: int = 0,
                requests_upto: int = -1) -> tuple[list[int], dict[str, Any] | None, bool]:
    """(seqs, push body, held) of the next node status events after seq ``after``.

    Events of synced requests only, or also of those up to seq
    ``requests_upto`` (sent just before them in the same export).
    """
    size = ctx.batch.size
    db = ctx.node.store.read()
    args = [after, requests_upto, size]
    # A note sealed while sync.regional_key was empty is re-sealed like a request, else held.
    rows, held = _with_regional_copies(ctx, list(db.query(EVENT_SQL, args)),
                                       lambda: list(db.query(EVENT_SQL, args)),
                                       "status_events", "note_sealed", "note_sealed_regional", "note")
    if held:
        ctx.awaiting_seal += db.execute(WAITING_NOTES_SQL).fetchone()[0]
    if not rows:
        return [], None, held
    blobs = [r["note_sealed_regional"] for r in rows]
    for r in rows:  # a sealed note travels as its regional copy only (base64)
        r["note_sealed_regional"] = wire.b64(r["note_sealed_regional"])
        r["internal"] = bool(r["internal"] and (r["note"] or r["note_sealed_regional"]))
    payload = wire.table(wire.EVENT_COLS, [[r[c] for c in wire.EVENT_COLS] for r in rows],
                         seal_epochs=wire.encode_epochs(epochs_for(ctx.node.store.read(), blobs)),
                         reasons=[r["reason"] for r in rows])  # a rejection's category, else null
    return [r["seq"] for r in rows], payload, held


def _ratings(db: sqlite_utils.Database, size: int) -> list[tuple[int, str, int]]:
    """(rowid, request id, rating) not pushed yet, stopping before one whose request waits."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'").fetchone() is None:
        return []  # no channel on this node collects feedback
    out = []
    for rowid, request_id, rating, synced in db.execute(RATINGS_SQL, [state.get(db, "ratings_hwm"), size]):
        if not synced:
            break
        out.append((rowid, request_id, rating))
    return out


def push_events(ctx: PassContext) -> str:
    """Push the next batch of node status events (kiosk "ready", "handed over", notes, with a
    rejection's category) and of citizens' ratings (the rating only, never the comment)."""
    size = ctx.batch.size
    seqs, payload, held = event_batch(ctx, *ONLY_SYNCED)
    ratings = _ratings(ctx.node.store.read(), size)
    if payload is None and not ratings:
        return Status.COMPLETED
    if payload is None:
        payload = wire.table(wire.EVENT_COLS, [], seal_epochs={})
    if ratings:
        payload = {**payload, "ratings": [[request_id, rating] for _, request_id, rating in ratings]}
    answer = _timed_call(ctx, "/events", payload, len(seqs) == size)
    if seqs:
        _check_ack(answer, seqs)
    elif not isinstance(answer, dict) or answer.get("n") != 0:
        raise ServerError("the server's ack does not match the batch sent: nothing marked")

    def mark(db: sqlite_utils.Database) -> None:
        mark_events(db, seqs)
        if ratings:
            # put, not raise_to: the row is made by the first rating pushed (nodes older than ratings lack it)
            state.put(db, "ratings_hwm", max(state.get(db, "ratings_hwm"), ratings[-1][0]))

    ctx.node.store.write(mark)
    ctx.moved["events"] += len(seqs)
    ctx.moved["conflicts"] += int(answer.get("conflicts", 0))
    ctx.report(Stage.PUSH_EVENTS, len(seqs))
    return Status.PENDING if len(seqs) == size and not held or len(ratings) == size else Status.COMPLETED


def mark_events(db: sqlite_utils.Database, seqs: list[int]) -> None:
    db.conn.executemany("UPDATE status_events SET synced = 1 WHERE seq = ?", [(s,) for s in seqs])
    if seqs:
        state.raise_to(db, "events_hwm", max(seqs))


def pull(ctx: PassContext) -> str:
    """Fetch status changes for this node's requests since the cursor and apply them.

    Notes arrive sealed to a key made for this pull and are opened in memory;
    the ``internal`` flag of each row decides whether the citizen sees the note.
    """
    cursor = state.get(ctx.node.store.read(), "pull_cursor")
    key = pullseal.new_key()  # this pull's: notes come sealed to it (sync.protocol.pullseal)
    answer = _timed_call(ctx, "/pull", {"cursor": cursor, "limit": ctx.batch.size,
                                        **pullseal.request_fields(key)}, False)
    events = pullseal.open_answer(answer, key)
    new_cursor = answer.get("cursor")
    if not isinstance(new_cursor, int) or new_cursor < cursor:
        raise ProtocolError("pull answer without a valid cursor")
    vault = ctx.node.vault
    if any(e["note"] for e in events):
        vault.ready()  # notes are sealed inside the write job: the epoch must exist before it
    if events or new_cursor != cursor:
        applied, notified = ctx.node.store.write(
            lambda db: apply_events(db, events, new_cursor, ctx.node.notifier, vault))
        ctx.moved["pulled"] += applied
        ctx.moved["notified"] += notified
        ctx.report(Stage.PULL, len(events))
    return Status.PENDING if answer.get("more") else Status.COMPLETED


def apply_events(db: sqlite_utils.Database, events: list[dict[str, Any]], cursor: int,
                 notifier: Notifier, vault: Any = None) -> tuple[int, int]:
    """Apply pulled events idempotently (the citizen's SMS queued by ``change_status``), move the cursor.

    The rows are this node's share of the regional timeline, in order. A new
    event is recorded through ``change_status`` (the regional server is
    authoritative: a move the table refuses is applied as an audited
    override); one the node already has (its own event the server applied,
    or a re-delivery) only re-asserts its status, so the node ends where the
    regional server is. Per request, only the last new change of the batch
    tells the citizen (``key=status:<event id>``: never twice). One write
    job: events, SMS and cursor are durable together. A note for the citizen
    is stored readable (it is in their SMS); an internal one, with ``vault``,
    only sealed.
    """
    applied = notified = 0
    last = {e["request_id"]: i for i, e in enumerate(events)}
    for i, e in enumerate(events):
        if db.execute("SELECT 1 FROM requests WHERE id = ?", [e["request_id"]]).fetchone() is None:
            continue  # not on this node any more (purged): nothing to apply
        event = change_status(db, e["request_id"], e["status"], actor=e["actor"] or "regional",
                              note=e["note"], internal=bool(e.get("internal")), event_id=e["id"],
                              origin="regional", at=e["at"], enforce=False, vault=vault, notifier=notifier,
                              notify=last[e["request_id"]] == i)
        if event is None:
            db.execute("UPDATE requests SET status = ? WHERE id = ? AND status != ?",
                       [e["status"], e["request_id"], e["status"]])
            continue
        applied += 1
        notified += bool(event.get("notified"))
    state.raise_to(db, "pull_cursor", cursor)
    return applied, notified


def fetch_catalog(ctx: PassContext) -> str:
    """Take the published catalog if its version is newer; validate; switch atomically."""
    have = ctx.node.catalog.version
    answer = ctx.transport.call("/catalog", {"version": have, "catalog_format": CATALOG_FORMAT})
    if not isinstance(answer, dict) or not isinstance(answer.get("version"), int):
        raise ProtocolError("catalog answer without a version")
    text = answer.get("toml")
    if text is None or answer["version"] <= have:
        ctx.moved["catalog_version"] = have
        return Status.COMPLETED
    catalog, errors = check_text(text)
    if catalog is None or catalog.version != answer["version"]:
        raise ProtocolError("published catalog is invalid: " + "; ".join(errors[:3]))
    downgrades = guard.check(ctx.node.store.read(), catalog)
    if downgrades:
        # Never store in clear what this node seals: keep the running catalog, remember why for the
        # officers, and let the pass go on (only this stage is refused).
        refused = guard.CatalogRefused(catalog.version, downgrades)
        ctx.node.store.write(lambda db: guard.record_refusal(db, refused))
        ctx.moved["catalog_version"] = have
        ctx.moved["catalog_refused"] = 1
        return Status.COMPLETED

    def store(db: sqlite_utils.Database) -> None:
        set_kv(db, "catalog_toml", text)
        set_kv(db, guard.REFUSED_KEY, "")
        state.put(db, "catalog_version", catalog.version)

    ctx.node.store.write(store)
    ctx.node.replace_catalog(catalog)
    ctx.moved["catalog_version"] = catalog.version
    ctx.moved["catalog_updated"] = 1
    return Status.COMPLETED


def audit_batch(db: sqlite_utils.Database, after: int,
                size: int) -> tuple[list[dict[str, Any]], tuple[int, str], dict[str, Any]]:
    """(rows, head, push body) of the audit entries after seq ``after`` (none: the head at ``after``)."""
    rows = list(db.query(AUDIT_SQL, [after, size]))
    if rows:
        head = (rows[-1]["seq"], rows[-1]["hash"])
    else:
        acked = db.execute(AUDIT_ACKED_SQL, [after]).fetchone()
        head = (after, acked[0] if acked else GENESIS)
    return rows, head, wire.encode_audit(rows, head)


def push_audit(ctx: PassContext) -> str:
    """Push the audit entries above ``audit_hwm`` (or, with none, the acknowledged head).

    The server appends them only if they continue the chain it holds; if not
    it flags this node and refuses them (answer ``flagged``). Nothing is
    marked then: the entries are offered again next pass, and the flag stays
    until a case worker checks the node.
    """
    db = ctx.node.store.read()
    hwm, size = state.get(db, "audit_hwm"), ctx.batch.size
    rows, head, payload = audit_batch(db, hwm, size)
    answer = _timed_call(ctx, "/audit", payload, len(rows) == size)
    if isinstance(answer, dict) and answer.get("flagged") is True:
        ctx.audit_flag = str(answer.get("problem"))
        return Status.COMPLETED
    if not isinstance(answer, dict) or answer.get("acked") != head[0] or answer.get("n") != len(rows):
        raise ServerError("the server's ack does not match the audit batch sent: nothing marked")
    if rows:
        ctx.node.store.write(lambda wdb: state.raise_to(wdb, "audit_hwm", head[0]))
        ctx.moved["audit"] += len(rows)
        ctx.report(Stage.PUSH_AUDIT, len(rows))
    return Status.PENDING if len(rows) == size else Status.COMPLETED


OPERATIONS: dict[str, Callable[[PassContext], str]] = {
    Stage.PUSH_REQUESTS: push_requests,
    Stage.PUSH_EVENTS: push_events,
    Stage.PULL: pull,
    Stage.CATALOG: fetch_catalog,
    Stage.PUSH_AUDIT: push_audit,
}
