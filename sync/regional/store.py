"""The regional server's store: an interface, and its SQL implementation shared by both engines.

Every push is applied in ONE transaction together with the check-and-advance
of the node's request counter, so a replayed request is refused before it
writes anything, and a crash before COMMIT leaves neither the data nor the
counter moved (the node's retry is then simply accepted). The web app and
the CLI only talk to :class:`RegionalStore`. :class:`SqlRegionalStore` holds
the logic; an engine (:mod:`sync.regional.sqlite_store`,
:mod:`sync.regional.pg_store`) supplies transactions, reads and the few
statements that differ in kind (batch ingest, key tables).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from gateway import clock
from sync.errors import AlreadyExists, EnrolmentRefused, RegionalError
from sync.regional import analytics, audit_chain, ingest, parcel_log, sealkeys, secretbox
from sync.regional.analytics import Analytics
from sync.regional.casework import case_event
from sync.regional.dbapi import Db
from sync.regional.enrol import enrolment_problem
from sync.regional.fleet import health_update
from sync.regional.sealkeys import RegionalKeys, RegionalOpener, Unopenable

T = TypeVar("T")

CASE_STATUSES = ("in_progress", "ready", "rejected", "closed")
PULL_SCAN_FACTOR = 20
PULL_SCAN_MAX = 100_000
PULL_SQL = (
    "SELECT e.seq AS cursor, e.id, e.request_id, e.status, e.actor, e.at, e.note, e.internal, "
    "(e.origin = 'regional' OR (e.applied = 1 AND EXISTS (SELECT 1 FROM events r WHERE r.node_id = e.node_id "
    "AND r.request_id = e.request_id AND r.origin = 'regional' AND r.seq < e.seq))) AS relay "
    "FROM events e WHERE e.node_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?")
EMPTY_PUSH = {"new": 0, "same": 0, "conflicts": 0, "code_clashes": 0, "unopenable": 0}


MAX_NODE_NAME = 80


def check_node_name(name: str | None) -> None:
    """A village office's name is shown on pages and in terminals: printable text only.

    Control characters would otherwise reach ``regional nodes`` output and the
    fleet page (escaped there, but a name is never meant to carry them).
    """
    if name is not None and (not name.strip() or len(name) > MAX_NODE_NAME or not name.isprintable()):
        raise RegionalError(f"node name: printable text, 1 to {MAX_NODE_NAME} characters")

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
                    epochs: dict[int, dict[str, Any]] | None = None,
                    ratings: list[tuple[str, int]] | None = None) -> dict[str, int]: ...
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
    def nodes(self, db: Db | None = None) -> list[dict[str, Any]]: ...
    @abstractmethod
    def fleet(self) -> tuple[list[dict[str, Any]], str, str]:
        """The fleet view's rows from the readers' database: (rows, data as of, source)."""
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


class SqlRegionalStore(RegionalStore):
    """The store's logic over :class:`sync.regional.dbapi.Db`; engines subclass it."""

    engine = "sql"
    # Tables that hold each request / event id exactly once with its node_id
    # (SQLite: the tables themselves; PostgreSQL: the unpartitioned key tables).
    request_dir = "requests"
    event_dir = "events"
    analytics: Analytics = Analytics()  # catalog facts and timezone; open_store sets them from the config
    row_lock = ""  # appended to a SELECT that must lock its row (gateway.web.throttle); SQLite serialises writers

    @abstractmethod
    def write(self, job: Callable[[Db], T]) -> T:
        """Run ``job(db)`` in one committed transaction; its exception rolls it back."""

    @abstractmethod
    def read(self) -> Db:
        """A connection for reads in this thread (no transaction held)."""

    def reader(self) -> tuple[Db, str, str]:
        """Where the many readers (fleet, analytics, transparency) go: (db, data as of, source).

        Source "primary" (no standby: as of now), "standby", "lagging" (the
        standby is behind) or "standby_down" (it did not answer: the primary).
        """
        return self.read(), clock.utcnow(), "primary"

    def reader_nodes(self, db: Db) -> list[dict[str, Any]]:
        return db.query("SELECT id AS node_id FROM nodes ORDER BY id")

    # --- engine hooks ---------------------------------------------------------
    def insert_requests(self, db: Db, node_id: str, rows: list[dict[str, Any]], now: str,
                        summary: dict[str, int]) -> list[str]:
        """Store the rows new by UUID, record resends and conflicts; returns the new ids."""
        return ingest.insert_requests_rowwise(db, node_id, rows, now, summary)

    def insert_event(self, db: Db, event: dict[str, Any]) -> None:
        cols = [c for c in ingest.EVENT_COLUMNS if c in event]
        db.execute(f"INSERT INTO events ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                   [event[c] for c in cols])

    def event_by_id(self, db: Db, event_id: str) -> tuple | None:
        where = db.execute(f"SELECT node_id FROM {self.event_dir} WHERE id = ?", [event_id]).fetchone()
        if where is None:
            return None
        return db.execute("SELECT request_id, status, note, node_id FROM events WHERE node_id = ? AND id = ?",
                          [where[0], event_id]).fetchone()

    def locate(self, db: Db, request_id: str) -> str | None:
        """The node a request belongs to (every index on requests leads with it)."""
        row = db.execute(f"SELECT node_id FROM {self.request_dir} WHERE id = ?", [request_id]).fetchone()
        return row[0] if row else None

    # --- nodes --------------------------------------------------------------
    def add_node(self, node_id: str, *, rotate: bool = False, name: str | None = None) -> str:
        if not node_id or len(node_id) > 64 or not all(c.isalnum() or c in "-_." for c in node_id):
            raise RegionalError("node id: letters, digits, '-', '_' or '.', at most 64")
        check_node_name(name)
        secret = secrets.token_urlsafe(32)

        def job(db: Db) -> None:
            exists = db.execute("SELECT 1 FROM nodes WHERE id = ?", [node_id]).fetchone()
            if exists and not rotate:
                raise AlreadyExists(f"node {node_id} already registered (use --rotate for a new secret)")
            db.execute("INSERT INTO nodes (id, secret, created_at, name) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(id) DO UPDATE SET secret = excluded.secret, "
                       "name = COALESCE(excluded.name, nodes.name)",
                       [node_id, self._at_rest(node_id, secret), clock.utcnow(), name])

        self.write(job)
        return secret

    def node(self, node_id: str) -> dict[str, Any] | None:
        row = self.read().execute("SELECT id, secret, last_counter FROM nodes WHERE id = ?", [node_id]).fetchone()
        if row is None:
            return None
        return {"id": row[0], "secret": secretbox.open_secret(self.keys, row[0], row[1]), "last_counter": row[2]}

    def _at_rest(self, node_id: str, secret: str) -> str:
        """How a new secret is stored: sealed under the key file (a store opened without keys, as some
        tools and tests do, writes it clear and the next opening with keys seals it)."""
        return secretbox.seal(self.keys, node_id, secret) if self.keys is not None else secret

    def seal_node_secrets(self) -> int:
        """Seal every secret still stored clear (from before sealing at rest); how many were sealed."""
        if self.keys is None:
            return 0
        clear = [(node_id, secret) for node_id, secret in self.read().execute(
            "SELECT id, secret FROM nodes").fetchall() if not secretbox.is_sealed(secret)]

        def job(db: Db) -> None:
            for node_id, secret in clear:  # only if unchanged meanwhile (a rotation wins)
                db.execute("UPDATE nodes SET secret = ? WHERE id = ? AND secret = ?",
                           [self._at_rest(node_id, secret), node_id, secret])

        if clear:
            self.write(job)
        return len(clear)

    def nodes(self, db: Db | None = None) -> list[dict[str, Any]]:
        """Every node with its health, request count and audit state (``db``: the primary by default).

        ``requests`` is the count kept at ingest (``nodes.requests``), never a
        count over the requests table: the page stays as fast at 50 M requests.
        """
        rows = (db or self.read()).query(
            "SELECT n.id, n.name, n.created_at, n.last_seen_at, n.last_sync_at, n.queue_depth, "
            "n.oldest_unsynced_age_s, n.version, n.disk_free_mb, n.clock_offset_s, n.health_at, n.open_threads, "
            "n.requests, "
            "n.catalog_refused, "
            "(SELECT a.seq FROM audit_entries a WHERE a.node_id = n.id ORDER BY a.seq DESC LIMIT 1) AS audit_seq, "
            "(SELECT a.hash FROM audit_entries a WHERE a.node_id = n.id ORDER BY a.seq DESC LIMIT 1) AS audit_head, "
            "(SELECT count(*) FROM node_flags f WHERE f.node_id = n.id AND f.resolved_at IS NULL) AS open_flags "
            "FROM nodes n ORDER BY n.id")
        for row in rows:
            row["audit_seq"] = row["audit_seq"] or 0
            row["audit_head"] = row["audit_head"] or audit_chain.GENESIS
            row["flagged"] = row["open_flags"] > 0
            row["catalog_refused"] = json.loads(row["catalog_refused"]) if row["catalog_refused"] else None
        return rows

    def fleet(self) -> tuple[list[dict[str, Any]], str, str]:
        """The fleet view's rows from the readers' database: (rows, data as of, source), see :meth:`reader`."""
        return self.on_reader(self.nodes)

    def on_reader(self, read: Callable[[Db], T]) -> tuple[T, str, str]:
        """``read`` on the readers' database: (its result, data as of, source), see :meth:`reader`.

        A standby that answered the reader's check can still go away before the
        page's own queries: then ``read`` runs again on the primary and the page
        says the replica is not answering, instead of failing with a 500.
        """
        db, as_of, source = self.reader()
        if source not in ("standby", "lagging"):
            return read(db), as_of, source
        try:
            return read(db), as_of, source
        except Exception as exc:
            if not self.standby_lost(exc):
                raise
        return read(self.read()), clock.utcnow(), "standby_down"

    def standby_lost(self, exc: Exception) -> bool:
        """Was ``exc`` the standby failing (then forget its connection)? No standby here: never."""
        return False

    def record_health(self, node_id: str, health: dict[str, Any] | None) -> None:
        """An acknowledged push: its time, and the health it carried (None: an older node sent none)."""
        now = clock.now()
        self.write(lambda db: db.execute(*health_update(node_id, health, now)))

    def claim(self, node_id: str, counter: int) -> None:
        now = clock.utcnow()
        self.write(lambda db: ingest.claim(db, node_id, counter, now))

    # --- push / pull --------------------------------------------------------
    def push_requests(self, node_id: str, counter: int, requests: list[dict[str, Any]],
                      epochs: dict[int, dict[str, Any]] | None = None) -> dict[str, int]:
        now = clock.utcnow()
        opener = RegionalOpener(self.keys) if self.keys is not None else None

        def job(db: Db) -> dict[str, int]:
            ingest.claim(db, node_id, counter, now)
            rows = ingest.prepare_requests(db, node_id, requests, epochs or {}, opener, now)
            summary = dict(EMPTY_PUSH)
            if rows:
                new = set(self.insert_requests(db, node_id, rows, now, summary))
                if new:  # the node's row is already locked by the claim; resends add nothing
                    db.execute("UPDATE nodes SET requests = requests + ? WHERE id = ?", [len(new), node_id])
                analytics.on_new_requests(db, self.analytics, node_id, [r for r in rows if r["id"] in new])
            return summary

        return self.write(job)

    def push_events(self, node_id: str, counter: int, events: list[dict[str, Any]],
                    epochs: dict[int, dict[str, Any]] | None = None,
                    ratings: list[tuple[str, int]] | None = None) -> dict[str, int]:
        """Events (with their reject-reason category, if the node sent one) and citizens' ratings."""
        now = clock.utcnow()
        opener = RegionalOpener(self.keys) if self.keys is not None else None

        def job(db: Db) -> dict[str, int]:
            ingest.claim(db, node_id, counter, now)
            ingest.store_epochs(db, node_id, epochs or {}, now)
            known = ingest.epochs_of(db, node_id, ingest.epoch_ids([e.get("note_sealed_regional") for e in events]))
            ingest.open_notes(events, opener, known)
            summary = ingest.apply_events(self, db, node_id, events, now)
            for request_id, rating in ratings or ():  # counted once per request; others' ids match nothing
                analytics.on_rating(db, self.analytics, node_id, request_id, rating)
            return summary

        return self.write(job)

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

        def job(db: Db) -> tuple[list[dict[str, Any]], int, bool]:
            ingest.claim(db, node_id, counter, now)
            scanned = db.query(PULL_SQL, [node_id, cursor, scan])
            rows = [r for r in scanned if r.pop("relay")][:limit]
            if len(rows) == limit:
                last = rows[-1]["cursor"]
            else:
                last = scanned[-1]["cursor"] if scanned else cursor
            more = len(scanned) == scan or last != (scanned[-1]["cursor"] if scanned else cursor)
            return rows, last, more

        return self.write(job)

    # --- audit chains -------------------------------------------------------
    def push_audit(self, node_id: str, counter: int, prev: str, head: tuple[int, str],
                   entries: list[dict[str, Any]]) -> dict[str, Any]:
        """Append a node's audit entries if they extend the held chain; else flag the node.

        Never raises for a chain that does not fit: the counter is claimed and
        the flag committed, the entries refused, and the answer says so (a
        node's requests and events keep flowing through their own calls).
        """
        now = clock.utcnow()
        return self.write(lambda db: self._push_audit(db, node_id, counter, prev, head, entries, now))

    @staticmethod
    def _push_audit(db: Db, node_id: str, counter: int, prev: str, head: tuple[int, str],
                    entries: list[dict[str, Any]], now: str) -> dict[str, Any]:
        ingest.claim(db, node_id, counter, now)
        held_seq, held_hash = ingest.audit_head(db, node_id)

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
        db.executemany("INSERT INTO audit_entries (node_id, seq, at, actor, action, subject, details, "
                       "prev_hash, hash, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", new)
        last = (new[-1][1], new[-1][8]) if new else (held_seq, held_hash)
        return {"acked": head[0], "n": len(entries), "new": len(new), "same": verdict.same,
                "held": [last[0], last[1]]}

    def audit_head(self, node_id: str) -> tuple[int, str]:
        return ingest.audit_head(self.read(), node_id)

    def audit_entries(self, node_id: str) -> list[dict[str, Any]]:
        return self.read().query(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash, received_at FROM audit_entries "
            "WHERE node_id = ? ORDER BY seq", [node_id])

    def node_flags(self, *, node_id: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM node_flags", []
        if node_id:
            sql += " WHERE node_id = ?"
            args.append(node_id)
        rows = self.read().query(sql + " ORDER BY id DESC", args)
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def resolve_flag(self, flag_id: int, *, actor: str) -> bool:
        """A case worker looked into the node; False if unknown or already resolved."""
        now = clock.utcnow()
        return self.write(lambda db: db.execute(
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
        return self.read().query(sql, args)

    def get_request(self, request_id: str) -> dict[str, Any] | None:
        """The request with its personal fields opened (a case worker is viewing it).

        ``seal_problem`` says why they cannot be opened (then only the plain
        fields are there); the sealed bytes themselves are not returned.
        """
        db = self.read()
        node_id = self.locate(db, request_id)
        if node_id is None:
            return None
        row = db.query("SELECT * FROM requests WHERE node_id = ? AND id = ?", [node_id, request_id])[0]
        row["fields"] = json.loads(row["fields"])
        blob = row.pop("sealed")
        row["sealed"] = blob is not None
        if blob is not None:
            blob = bytes(blob)
            epochs = ingest.epochs_of(db, node_id, ingest.epoch_ids([blob]))
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
        db = self.read()
        found = db.execute(f"SELECT id, node_id FROM {self.request_dir} WHERE tracking_code = ?",
                           [tracking_code]).fetchall()
        rows = []
        for request_id, node_id in found:
            rows += db.query("SELECT id, tracking_code, node_id, service, status FROM requests "
                             "WHERE node_id = ? AND id = ?", [node_id, request_id])
        return rows

    def history(self, request_id: str) -> list[dict[str, Any]]:
        db = self.read()
        return db.query(
            "SELECT id, status, actor, at, note, origin, received_at, applied, note_problem, internal, reopen "
            "FROM events WHERE node_id = ? AND request_id = ? ORDER BY seq", [self.locate(db, request_id), request_id])

    def set_status(self, request_id: str, status: str, *, actor: str, note: str | None = None,
                   internal: bool = False, reopen: bool = False, reason: str | None = None) -> dict[str, Any]:
        """A case worker moves the case (``reason``: a reject_reasons category of the service)."""
        if status not in CASE_STATUSES:
            raise RegionalError(f"status must be one of: {', '.join(CASE_STATUSES)}")
        now = clock.utcnow()

        def job(db: Db) -> dict[str, Any]:
            node_id = self.locate(db, request_id)
            row = db.execute("SELECT status FROM requests WHERE node_id = ? AND id = ?",
                             [node_id, request_id]).fetchone() if node_id else None
            if row is None:
                raise RegionalError("no such request")
            event = case_event(row[0], node_id, request_id, status, actor=actor, note=note, internal=internal,
                               reopen=reopen, now=now)
            self.insert_event(db, event)
            db.execute("UPDATE requests SET status = ?, updated_at = ? WHERE node_id = ? AND id = ?",
                       [status, now, node_id, request_id])
            analytics.on_status(db, self.analytics, node_id, request_id, status, now, reason)
            return event

        return self.write(job)

    def conflicts(self, *, request_id: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM conflicts", []
        if request_id:
            sql += " WHERE request_id = ?"
            args.append(request_id)
        rows = self.read().query(sql + " ORDER BY id DESC", args)
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def resolve_conflict(self, conflict_id: int, *, actor: str) -> bool:
        """Mark a conflict as checked by a case worker; False if unknown or already resolved."""
        now = clock.utcnow()
        return self.write(lambda db: db.execute(
            "UPDATE conflicts SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL",
            [now, actor, conflict_id]).rowcount == 1)

    # --- users --------------------------------------------------------------
    def add_user(self, username: str, password_hash: str) -> None:
        def job(db: Db) -> None:
            if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
                raise AlreadyExists(f"user {username} already exists")
            db.execute("INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)",
                       [username, password_hash, clock.utcnow()])

        self.write(job)

    def password_hash(self, username: str) -> str | None:
        row = self.read().execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchone()
        return row[0] if row else None

    def set_password_hash(self, username: str, password_hash: str) -> None:
        self.write(lambda db: db.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                                         [password_hash, username]))

    def stats(self) -> dict[str, int]:
        db = self.read()
        return {
            "nodes": db.execute("SELECT count(*) FROM nodes").fetchone()[0],
            "requests": db.execute("SELECT CAST(coalesce(sum(requests), 0) AS BIGINT) FROM nodes").fetchone()[0],
            "open_conflicts": db.execute("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()[0],
            "unopenable": db.execute("SELECT count(*) FROM requests WHERE seal_problem IS NOT NULL").fetchone()[0],
            "flagged_nodes": db.execute(
                "SELECT count(DISTINCT node_id) FROM node_flags WHERE resolved_at IS NULL").fetchone()[0],
        }

    # --- enrolment (sync.regional.enrol) -----------------------------------
    def add_enrolment(self, node_id: str, name: str, code_hash: str, expires_at: str) -> None:
        check_node_name(name or None)  # "": no name given, the node keeps its own
        self.write(lambda db: db.execute(
            "INSERT INTO enrolments (code_hash, node_id, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            [code_hash, node_id, name, clock.utcnow(), expires_at]))

    def redeem_enrolment(self, node_id: str, code_hash: str) -> str:
        now = clock.utcnow()
        secret = secrets.token_urlsafe(32)

        def job(db: Db) -> str:
            row = db.execute("SELECT node_id, expires_at, used_at, name FROM enrolments WHERE code_hash = ?",
                             [code_hash]).fetchone()
            problem = enrolment_problem(row, node_id, now)
            if problem:
                raise EnrolmentRefused(problem)
            db.execute("UPDATE enrolments SET used_at = ? WHERE code_hash = ?", [now, code_hash])
            db.execute("UPDATE nodes SET secret = ?, name = COALESCE(NULLIF(?, ''), name) WHERE id = ?",
                       [self._at_rest(node_id, secret), row[3], node_id])
            return secret

        return self.write(job)

    def parcels(self, node_id: str) -> list[dict[str, Any]]:
        return parcel_log.rows(self.read(), node_id)


def open_regional_store(path: str | Path, keys: RegionalKeys | None = None) -> RegionalStore:
    """The SQLite store at ``path`` (see :func:`sync.regional.engines.open_store` for the config's choice)."""
    from sync.regional.sqlite_store import SQLiteRegionalStore

    return SQLiteRegionalStore(path, keys)
