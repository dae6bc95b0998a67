"""The regional server's store: an interface, and its SQLite implementation.

Every push is applied in ONE transaction together with the check-and-advance
of the node's request counter, so a replayed request is refused before it
writes anything, and a crash before COMMIT leaves neither the data nor the
counter moved (the node's retry is then simply accepted). The web app and
the CLI only talk to :class:`RegionalStore`, so PostgreSQL can come in as a
second implementation without touching them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlite_utils

from gateway import clock
from gateway.cases.records import STATUSES
from gateway.storage.store import Store, connect
from sync.errors import AlreadyExists, EnrolmentRefused, RegionalError, ReplayError
from sync.protocol.wire import b64, content_digest, event_digest
from sync.regional import audit_chain, parcel_log, sealkeys
from sync.regional.casework import APPLIED_MOVE, case_event, node_event_applies
from sync.regional.enrol import enrolment_problem
from sync.regional.fleet import health_update
from sync.regional.migrations import migrations
from sync.regional.parcel_log import ParcelClaim
from sync.regional.sealkeys import RegionalKeys, RegionalOpener, Unopenable, note_text

CASE_STATUSES = ("in_progress", "ready", "rejected", "closed")
PULL_SCAN_FACTOR = 20
PULL_SCAN_MAX = 100_000
PULL_SQL = (
    "SELECT e.seq AS cursor, e.id, e.request_id, e.status, e.actor, e.at, e.note, e.internal, "
    "(e.origin = 'regional' OR (e.applied = 1 AND EXISTS (SELECT 1 FROM events r WHERE "
    "r.request_id = e.request_id AND r.origin = 'regional' AND r.seq < e.seq))) AS relay "
    "FROM events e WHERE e.node_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?")


class RegionalStore(ABC):
    """What the regional server needs from its database."""

    @abstractmethod
    def add_node(self, node_id: str, *, rotate: bool = False, name: str | None = None) -> str: ...
    @abstractmethod
    def record_health(self, node_id: str, health: dict[str, Any] | None) -> None: ...
    @abstractmethod
    def node(self, node_id: str) -> dict[str, Any] | None: ...
    keys: RegionalKeys | None = None  # this server's sealing keys: open and check sealed copies

    @abstractmethod
    def push_requests(self, node_id: str, counter: int, requests: list[dict[str, Any]],
                      epochs: dict[int, dict[str, Any]] | None = None) -> dict[str, int]: ...
    @abstractmethod
    def push_events(self, node_id: str, counter: int, events: list[dict[str, Any]],
                    epochs: dict[int, dict[str, Any]] | None = None) -> dict[str, int]: ...
    @abstractmethod
    def pull(self, node_id: str, counter: int, cursor: int,
             limit: int) -> tuple[list[dict[str, Any]], int, bool]: ...
    @abstractmethod
    def claim(self, node_id: str, counter: int) -> None: ...
    @abstractmethod
    def push_audit(self, node_id: str, counter: int, prev: str, head: tuple[int, str],
                   entries: list[dict[str, Any]]) -> dict[str, Any]: ...
    @abstractmethod
    def audit_head(self, node_id: str) -> tuple[int, str]: ...
    @abstractmethod
    def audit_entries(self, node_id: str) -> list[dict[str, Any]]: ...
    @abstractmethod
    def node_flags(self, *, node_id: str | None = None) -> list[dict[str, Any]]: ...
    @abstractmethod
    def resolve_flag(self, flag_id: int, *, actor: str) -> bool: ...
    @abstractmethod
    def list_requests(self, *, node_id: str | None = None, status: str | None = None,
                      limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]: ...
    @abstractmethod
    def get_request(self, request_id: str) -> dict[str, Any] | None: ...
    @abstractmethod
    def by_code(self, tracking_code: str) -> list[dict[str, Any]]: ...
    @abstractmethod
    def history(self, request_id: str) -> list[dict[str, Any]]: ...
    @abstractmethod
    def set_status(self, request_id: str, status: str, *, actor: str, note: str | None = None,
                   internal: bool = False, reopen: bool = False) -> dict[str, Any]:
        """A case worker's change, checked against ``gateway.cases.transitions`` (MoveRefused if refused)."""
    @abstractmethod
    def conflicts(self, *, request_id: str | None = None) -> list[dict[str, Any]]: ...
    @abstractmethod
    def resolve_conflict(self, conflict_id: int, *, actor: str) -> bool: ...
    @abstractmethod
    def nodes(self) -> list[dict[str, Any]]: ...
    @abstractmethod
    def add_user(self, username: str, password_hash: str) -> None: ...
    @abstractmethod
    def password_hash(self, username: str) -> str | None: ...
    @abstractmethod
    def set_password_hash(self, username: str, password_hash: str) -> None: ...
    @abstractmethod
    def stats(self) -> dict[str, int]: ...
    @abstractmethod
    def add_enrolment(self, node_id: str, name: str, code_hash: str, expires_at: str) -> None: ...

    @abstractmethod
    def redeem_enrolment(self, node_id: str, code_hash: str) -> str:
        """Burn the code and give the node a fresh HMAC secret (returned); EnrolmentRefused if not valid."""

    @abstractmethod
    def parcels(self, node_id: str) -> list[dict[str, Any]]:
        """The sneakernet files of a node, applied or written (sync.regional.parcel_log.rows)."""

    @abstractmethod
    def close(self) -> None: ...


def _claim(db: sqlite_utils.Database, node_id: str, counter: int | ParcelClaim, now: str) -> None:
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


def _audit_head(db: sqlite_utils.Database, node_id: str) -> tuple[int, str]:
    row = db.execute("SELECT seq, hash FROM audit_entries WHERE node_id = ? ORDER BY seq DESC LIMIT 1",
                     [node_id]).fetchone()
    return (row[0], row[1]) if row else (0, audit_chain.GENESIS)


def _conflict(db: sqlite_utils.Database, kind: str, node_id: str, request_id: str,
              code: str | None, detail: dict[str, Any], digest: str, now: str) -> int:
    cur = db.execute(
        "INSERT INTO conflicts (kind, node_id, request_id, tracking_code, detail, digest, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, request_id, digest) DO NOTHING",
        [kind, node_id, request_id, code, json.dumps(detail, ensure_ascii=False), digest, now])
    return cur.rowcount


def _event_detail(e: dict[str, Any], node_id: str) -> dict[str, Any]:
    return dict(e, node_id=node_id, note_sealed_regional=b64(e.get("note_sealed_regional")))


def _store_epochs(db: sqlite_utils.Database, node_id: str, epochs: dict[int, dict[str, Any]], now: str) -> None:
    # An epoch id names one key pair forever on a node: the first public key
    # received wins (a different one later can only make records unopenable,
    # which flags them; it never silently changes what older records open with).
    db.conn.executemany(
        "INSERT INTO seal_epochs (node_id, id, public, regional_key, received_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (node_id, id) DO NOTHING",
        [(node_id, i, e["public"], e["regional_key"], now) for i, e in epochs.items()])


def _epochs_of(db: sqlite_utils.Database, node_id: str, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r[0]: {"public": r[1], "regional_key": r[2]} for r in db.execute(
        f"SELECT id, public, regional_key FROM seal_epochs WHERE node_id = ? AND id IN ({marks})",
        [node_id, *sorted(ids)])}


def _epoch_ids(blobs: list[bytes | None]) -> set[int]:
    from gateway.privacy.sealing import SealError, epoch_of

    ids = set()
    for blob in blobs:
        if blob is not None:
            try:
                ids.add(epoch_of(blob))
            except SealError:
                pass
    return ids


class SQLiteRegionalStore(RegionalStore):
    def __init__(self, path: str | Path, keys: RegionalKeys | None = None):
        self.keys = keys
        self.path = Path(path)
        db = connect(self.path)  # WAL + synchronous=FULL, like the node
        try:
            migrations.apply(db)
        finally:
            db.conn.close()
        self._store = Store(self.path)

    def _read(self) -> sqlite_utils.Database:
        return self._store.read()

    def read(self) -> sqlite_utils.Database:
        """A read handle (``execute``, ``query``) for the web toolkit's session and throttle tables."""
        return self._store.read()

    def write(self, fn: Callable[[sqlite_utils.Database], Any]) -> Any:
        """``fn(db)`` in one write transaction (the toolkit's tables; see ``gateway.web``)."""
        return self._store.write(fn)

    # --- nodes --------------------------------------------------------------
    def add_node(self, node_id: str, *, rotate: bool = False, name: str | None = None) -> str:
        if not node_id or len(node_id) > 64 or not all(c.isalnum() or c in "-_." for c in node_id):
            raise RegionalError("node id: letters, digits, '-', '_' or '.', at most 64")
        secret = secrets.token_urlsafe(32)

        def job(db: sqlite_utils.Database) -> None:
            exists = db.execute("SELECT 1 FROM nodes WHERE id = ?", [node_id]).fetchone()
            if exists and not rotate:
                raise AlreadyExists(f"node {node_id} already registered (use --rotate for a new secret)")
            db.execute("INSERT INTO nodes (id, secret, created_at, name) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(id) DO UPDATE SET secret = excluded.secret, "
                       "name = COALESCE(excluded.name, nodes.name)",
                       [node_id, secret, clock.utcnow(), name])

        self._store.write(job)
        return secret

    def node(self, node_id: str) -> dict[str, Any] | None:
        row = self._read().execute("SELECT id, secret, last_counter FROM nodes WHERE id = ?", [node_id]).fetchone()
        return {"id": row[0], "secret": row[1], "last_counter": row[2]} if row else None

    def nodes(self) -> list[dict[str, Any]]:
        rows = list(self._read().query(
            "SELECT n.id, n.name, n.created_at, n.last_seen_at, n.last_sync_at, n.queue_depth, "
            "n.oldest_unsynced_age_s, n.version, n.disk_free_mb, n.clock_offset_s, n.health_at, n.open_threads, "
            "(SELECT count(*) FROM requests r WHERE r.node_id = n.id) AS requests, "
            "(SELECT a.seq FROM audit_entries a WHERE a.node_id = n.id ORDER BY a.seq DESC LIMIT 1) AS audit_seq, "
            "(SELECT a.hash FROM audit_entries a WHERE a.node_id = n.id ORDER BY a.seq DESC LIMIT 1) AS audit_head, "
            "(SELECT count(*) FROM node_flags f WHERE f.node_id = n.id AND f.resolved_at IS NULL) AS open_flags "
            "FROM nodes n ORDER BY n.id"))
        for row in rows:
            row["audit_seq"] = row["audit_seq"] or 0
            row["audit_head"] = row["audit_head"] or audit_chain.GENESIS
            row["flagged"] = row["open_flags"] > 0
        return rows

    def record_health(self, node_id: str, health: dict[str, Any] | None) -> None:
        """An acknowledged push: its time, and the health it carried (None: an older node sent none)."""
        now = clock.now()
        self._store.write(lambda db: db.execute(*health_update(node_id, health, now)))

    def claim(self, node_id: str, counter: int) -> None:
        now = clock.utcnow()
        self._store.write(lambda db: _claim(db, node_id, counter, now))

    # --- push / pull --------------------------------------------------------
    def push_requests(self, node_id: str, counter: int, requests: list[dict[str, Any]],
                      epochs: dict[int, dict[str, Any]] | None = None) -> dict[str, int]:
        now = clock.utcnow()
        opener = RegionalOpener(self.keys) if self.keys is not None else None
        return self._store.write(lambda db: self._push_requests(db, node_id, counter, requests, epochs or {},
                                                                opener, now))

    @staticmethod
    def _push_requests(db: sqlite_utils.Database, node_id: str, counter: int, requests: list[dict[str, Any]],
                       epochs: dict[int, dict[str, Any]], opener: RegionalOpener | None,
                       now: str) -> dict[str, int]:
        _claim(db, node_id, counter, now)
        _store_epochs(db, node_id, epochs, now)
        known = _epochs_of(db, node_id, _epoch_ids([r.get("sealed_regional") for r in requests]))
        summary = {"new": 0, "same": 0, "conflicts": 0, "code_clashes": 0, "unopenable": 0}
        for r in requests:
            digest = content_digest(r)
            fields = json.dumps(r["fields"], ensure_ascii=False, sort_keys=True)
            sealed = r.get("sealed_regional")
            # Checked now (never fatal: an unopenable copy is stored and flagged,
            # or the node would resend it forever); opened again when viewed.
            problem = opener.problem(r["id"], sealed, known) if opener is not None else None
            cur = db.execute(
                "INSERT INTO requests (id, node_id, node_seq, tracking_code, service, channel, phone, locale, "
                "officer, fields, created_at, received_at, updated_at, digest, sealed, seal_problem) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                [r["id"], node_id, r["seq"], r["tracking_code"], r["service"], r["channel"], r["phone"],
                 r["locale"], r["officer"], fields, r["created_at"], now, now, digest, sealed, problem])
            if cur.rowcount == 0:
                old = db.execute("SELECT digest, node_id FROM requests WHERE id = ?", [r["id"]]).fetchone()
                if old[0] == digest and old[1] == node_id:
                    summary["same"] += 1
                else:
                    detail = dict(r, node_id=node_id, sealed_regional=b64(sealed))
                    summary["conflicts"] += _conflict(db, "content", node_id, r["id"], r["tracking_code"],
                                                      detail, digest, now)
                continue
            summary["new"] += 1
            summary["unopenable"] += problem is not None
            clash = db.execute("SELECT id, node_id FROM requests WHERE tracking_code = ? AND id != ? LIMIT 1",
                               [r["tracking_code"], r["id"]]).fetchone()
            if clash is not None:
                detail = {"other_request": clash[0], "other_node": clash[1], "node_id": node_id}
                summary["code_clashes"] += _conflict(db, "tracking_code", node_id, r["id"], r["tracking_code"],
                                                     detail, digest, now)
            db.execute("INSERT INTO events (id, request_id, node_id, status, actor, at, note, origin, received_at) "
                       "VALUES (?, ?, ?, 'received', ?, ?, NULL, 'node', ?)",
                       [f"recv:{r['id']}", r["id"], node_id, r["officer"] or r["channel"], r["created_at"], now])
        return summary

    def push_events(self, node_id: str, counter: int, events: list[dict[str, Any]],
                    epochs: dict[int, dict[str, Any]] | None = None) -> dict[str, int]:
        now = clock.utcnow()
        opener = RegionalOpener(self.keys) if self.keys is not None else None
        return self._store.write(lambda db: self._push_events(db, node_id, counter, events, epochs or {},
                                                              opener, now))

    @staticmethod
    def _push_events(db: sqlite_utils.Database, node_id: str, counter: int, events: list[dict[str, Any]],
                     epochs: dict[int, dict[str, Any]], opener: RegionalOpener | None,
                     now: str) -> dict[str, int]:
        _claim(db, node_id, counter, now)
        _store_epochs(db, node_id, epochs, now)
        known = _epochs_of(db, node_id, _epoch_ids([e.get("note_sealed_regional") for e in events]))
        summary = {"new": 0, "same": 0, "conflicts": 0, "unknown": 0}
        for e in events:
            if e["status"] not in STATUSES:
                raise RegionalError(f"unknown status {e['status']!r}")
            e["note_problem"] = None
            if e.get("note_sealed_regional") is not None:
                # A node note arrives sealed; this server keeps notes in clear
                # (its case workers' own notes are clear too; docs/sync-protocol.md).
                try:
                    if opener is None:
                        raise Unopenable(sealkeys.UNKNOWN_KEY)
                    e["note"] = note_text(opener.open(e["id"], e["note_sealed_regional"], known, "note"))
                except Unopenable as exc:
                    e["note"], e["note_problem"] = None, exc.problem
            old = db.execute("SELECT request_id, status, note, node_id FROM events WHERE id = ?", [e["id"]]).fetchone()
            if old is not None:
                if tuple(old) == (e["request_id"], e["status"], e["note"], node_id):
                    summary["same"] += 1
                else:
                    digest = event_digest(e)
                    summary["conflicts"] += _conflict(db, "event", node_id, e["request_id"], None,
                                                      _event_detail(e, node_id), digest, now)
                continue
            req = db.execute("SELECT status, node_id FROM requests WHERE id = ?", [e["request_id"]]).fetchone()
            if req is None or req[1] != node_id:
                # Never drop it: keep it visible for a case worker.
                summary["unknown"] += _conflict(db, "event", node_id, e["request_id"], None,
                                                dict(_event_detail(e, node_id), problem="unknown request"),
                                                event_digest(e), now)
                continue
            applied, reopen = node_event_applies(req[0], e)
            db.execute("INSERT INTO events (id, request_id, node_id, status, actor, at, note, origin, "
                       "received_at, applied, note_problem, internal, reopen) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, 'node', ?, ?, ?, ?, ?)",
                       [e["id"], e["request_id"], node_id, e["status"], e["actor"], e["at"], e["note"], now,
                        applied, e["note_problem"], int(bool(e.get("internal"))), int(reopen)])
            if applied == APPLIED_MOVE and e["status"] != req[0]:
                db.execute("UPDATE requests SET status = ?, updated_at = ? WHERE id = ?",
                           [e["status"], now, e["request_id"]])
            summary["new"] += 1
        return summary

    def pull(self, node_id: str, counter: int, cursor: int,
             limit: int) -> tuple[list[dict[str, Any]], int, bool]:
        """This node's share of the regional timeline after ``cursor``: (rows, new cursor, more).

        Rows are the regional events (case workers' changes) and those of the
        node's own events the server applied *after* a regional event of the
        same request: replaying them in order lets the node end at exactly the
        regional status even when both sides moved the case while apart.
        Everything else is skipped, and the cursor moves past what was scanned.
        """
        now = clock.utcnow()
        scan = min(limit * PULL_SCAN_FACTOR, PULL_SCAN_MAX)

        def job(db: sqlite_utils.Database) -> tuple[list[dict[str, Any]], int, bool]:
            _claim(db, node_id, counter, now)
            scanned = list(db.query(PULL_SQL, [node_id, cursor, scan]))
            rows = [r for r in scanned if r.pop("relay")][:limit]
            if len(rows) == limit:
                last = rows[-1]["cursor"]
            else:
                last = scanned[-1]["cursor"] if scanned else cursor
            more = len(scanned) == scan or last != (scanned[-1]["cursor"] if scanned else cursor)
            return rows, last, more

        return self._store.write(job)

    # --- audit chains -------------------------------------------------------
    def push_audit(self, node_id: str, counter: int, prev: str, head: tuple[int, str],
                   entries: list[dict[str, Any]]) -> dict[str, Any]:
        """Append a node's audit entries if they extend the held chain; else flag the node.

        Never raises for a chain that does not fit: the counter is claimed and
        the flag committed, the entries refused, and the answer says so (a
        node's requests and events keep flowing through their own calls).
        """
        now = clock.utcnow()
        return self._store.write(lambda db: self._push_audit(db, node_id, counter, prev, head, entries, now))

    @staticmethod
    def _push_audit(db: sqlite_utils.Database, node_id: str, counter: int, prev: str, head: tuple[int, str],
                    entries: list[dict[str, Any]], now: str) -> dict[str, Any]:
        _claim(db, node_id, counter, now)
        held_seq, held_hash = _audit_head(db, node_id)

        def held_at(seq: int) -> str | None:
            row = db.execute("SELECT hash FROM audit_entries WHERE node_id = ? AND seq = ?", [node_id, seq]).fetchone()
            return row[0] if row else None

        verdict = audit_chain.judge(prev, head, entries, held_seq, held_at)
        if not verdict.ok:
            detail = verdict.detail()
            digest = hashlib.sha256(json.dumps(detail, sort_keys=True).encode()).hexdigest()[:32]
            db.execute("INSERT INTO node_flags (node_id, kind, detail, digest, at) VALUES (?, 'audit_chain', ?, ?, ?) "
                       "ON CONFLICT (node_id, kind, digest) DO NOTHING", [node_id, json.dumps(detail), digest, now])
            return {"flagged": True, "problem": verdict.problem, "seq": verdict.seq, "n": len(entries),
                    "held": [held_seq, held_hash]}
        new = [(node_id, e["seq"], e["at"], e["actor"], e["action"], e["subject"], e["details"],
                verdict.hashes[i - 1] if i else prev, verdict.hashes[i], now)
               for i, e in enumerate(entries) if e["seq"] > held_seq]
        db.conn.executemany("INSERT INTO audit_entries (node_id, seq, at, actor, action, subject, details, "
                            "prev_hash, hash, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", new)
        last = (new[-1][1], new[-1][8]) if new else (held_seq, held_hash)
        return {"acked": head[0], "n": len(entries), "new": len(new), "same": verdict.same,
                "held": [last[0], last[1]]}

    def audit_head(self, node_id: str) -> tuple[int, str]:
        return _audit_head(self._read(), node_id)

    def audit_entries(self, node_id: str) -> list[dict[str, Any]]:
        return list(self._read().query(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash, received_at FROM audit_entries "
            "WHERE node_id = ? ORDER BY seq", [node_id]))

    def node_flags(self, *, node_id: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM node_flags", []
        if node_id:
            sql += " WHERE node_id = ?"
            args.append(node_id)
        rows = list(self._read().query(sql + " ORDER BY id DESC", args))
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def resolve_flag(self, flag_id: int, *, actor: str) -> bool:
        """A case worker looked into the node; False if unknown or already resolved."""
        now = clock.utcnow()
        return self._store.write(lambda db: db.execute(
            "UPDATE node_flags SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL",
            [now, actor, flag_id]).rowcount == 1)

    # --- case work ----------------------------------------------------------
    def list_requests(self, *, node_id: str | None = None, status: str | None = None,
                      limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        where, args = [], []
        for column, value in (("node_id", node_id), ("status", status)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        sql = ("SELECT id, tracking_code, node_id, service, channel, status, created_at, received_at, "
               "updated_at, seal_problem FROM requests")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY rid DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return list(self._read().query(sql, args))

    def get_request(self, request_id: str) -> dict[str, Any] | None:
        """The request with its personal fields opened (a case worker is viewing it).

        ``seal_problem`` says why they cannot be opened (then only the plain
        fields are there); the sealed bytes themselves are not returned.
        """
        db = self._read()
        row = next(iter(db.query("SELECT * FROM requests WHERE id = ?", [request_id])), None)
        if row is None:
            return None
        row["fields"] = json.loads(row["fields"])
        blob = row.pop("sealed")
        row["sealed"] = blob is not None
        if blob is not None:
            epochs = _epochs_of(db, row["node_id"], _epoch_ids([blob]))
            if self.keys is None:
                row["seal_problem"] = sealkeys.UNKNOWN_KEY
            else:
                try:
                    row["fields"].update(RegionalOpener(self.keys).open(request_id, blob, epochs))
                    row["seal_problem"] = None
                except Unopenable as exc:
                    row["seal_problem"] = exc.problem
        return row

    def by_code(self, tracking_code: str) -> list[dict[str, Any]]:
        return list(self._read().query(
            "SELECT id, tracking_code, node_id, service, status FROM requests WHERE tracking_code = ?",
            [tracking_code]))

    def history(self, request_id: str) -> list[dict[str, Any]]:
        return list(self._read().query(
            "SELECT id, status, actor, at, note, origin, received_at, applied, note_problem, internal, reopen "
            "FROM events WHERE request_id = ? ORDER BY seq", [request_id]))

    def set_status(self, request_id: str, status: str, *, actor: str, note: str | None = None,
                   internal: bool = False, reopen: bool = False) -> dict[str, Any]:
        if status not in CASE_STATUSES:
            raise RegionalError(f"status must be one of: {', '.join(CASE_STATUSES)}")
        now = clock.utcnow()

        def job(db: sqlite_utils.Database) -> dict[str, Any]:
            row = db.execute("SELECT status, node_id FROM requests WHERE id = ?", [request_id]).fetchone()
            if row is None:
                raise RegionalError("no such request")
            event = case_event(row[0], row[1], request_id, status, actor=actor, note=note, internal=internal,
                               reopen=reopen, now=now)
            db["events"].insert(event)
            db.execute("UPDATE requests SET status = ?, updated_at = ? WHERE id = ?", [status, now, request_id])
            return event

        return self._store.write(job)

    def conflicts(self, *, request_id: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM conflicts", []
        if request_id:
            sql += " WHERE request_id = ?"
            args.append(request_id)
        rows = list(self._read().query(sql + " ORDER BY id DESC", args))
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def resolve_conflict(self, conflict_id: int, *, actor: str) -> bool:
        """Mark a conflict as checked by a case worker; False if unknown or already resolved."""
        now = clock.utcnow()
        return self._store.write(lambda db: db.execute(
            "UPDATE conflicts SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL",
            [now, actor, conflict_id]).rowcount == 1)

    # --- users --------------------------------------------------------------
    def add_user(self, username: str, password_hash: str) -> None:
        def job(db: sqlite_utils.Database) -> None:
            if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
                raise AlreadyExists(f"user {username} already exists")
            db["users"].insert({"username": username, "password_hash": password_hash,
                                "created_at": clock.utcnow()})

        self._store.write(job)

    def password_hash(self, username: str) -> str | None:
        row = self._read().execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchone()
        return row[0] if row else None

    def set_password_hash(self, username: str, password_hash: str) -> None:
        self._store.write(lambda db: db.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                                                [password_hash, username]))

    def stats(self) -> dict[str, int]:
        db = self._read()
        return {
            "nodes": db.execute("SELECT count(*) FROM nodes").fetchone()[0],
            "requests": db.execute("SELECT count(*) FROM requests").fetchone()[0],
            "open_conflicts": db.execute("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()[0],
            "unopenable": db.execute("SELECT count(*) FROM requests WHERE seal_problem IS NOT NULL").fetchone()[0],
            "flagged_nodes": db.execute(
                "SELECT count(DISTINCT node_id) FROM node_flags WHERE resolved_at IS NULL").fetchone()[0],
        }

    # --- enrolment (sync.regional.enrol) -----------------------------------
    def add_enrolment(self, node_id: str, name: str, code_hash: str, expires_at: str) -> None:
        self._store.write(lambda db: db.execute(
            "INSERT INTO enrolments (code_hash, node_id, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            [code_hash, node_id, name, clock.utcnow(), expires_at]))

    def redeem_enrolment(self, node_id: str, code_hash: str) -> str:
        now = clock.utcnow()
        secret = secrets.token_urlsafe(32)

        def job(db: sqlite_utils.Database) -> str:
            row = db.execute("SELECT node_id, expires_at, used_at FROM enrolments WHERE code_hash = ?",
                             [code_hash]).fetchone()
            problem = enrolment_problem(row, node_id, now)
            if problem:
                raise EnrolmentRefused(problem)
            db.execute("UPDATE enrolments SET used_at = ? WHERE code_hash = ?", [now, code_hash])
            db.execute("UPDATE nodes SET secret = ? WHERE id = ?", [secret, node_id])
            return secret

        return self._store.write(job)

    def parcels(self, node_id: str) -> list[dict[str, Any]]:
        return parcel_log.rows(self._read(), node_id)

    def close(self) -> None:
        self._store.close()


def open_regional_store(path: str | Path, keys: RegionalKeys | None = None) -> RegionalStore:
    return SQLiteRegionalStore(path, keys)
