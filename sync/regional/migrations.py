"""The regional server's own schema (a separate migration set and database file).

Nothing here is shared with a node's database: the regional server may run on
another machine, and PostgreSQL will replace SQLite behind ``RegionalStore``.
"""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.regional")


@migrations()
def m001_nodes(db: sqlite_utils.Database) -> None:
    # last_counter: the newest request id accepted from the node; a request
    # must carry a larger one (replay protection without trusting clocks).
    db.execute("""
        CREATE TABLE nodes (
            id TEXT PRIMARY KEY,
            secret TEXT NOT NULL,
            last_counter INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            last_seen_at TEXT
        )""")


@migrations()
def m002_requests(db: sqlite_utils.Database) -> None:
    # Submissions are immutable: keyed by the node's request UUID, with the
    # digest of their content so a resend can be told from a conflict.
    db.execute("""
        CREATE TABLE requests (
            rid INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            node_id TEXT NOT NULL REFERENCES nodes(id),
            node_seq INTEGER NOT NULL,
            tracking_code TEXT NOT NULL,
            service TEXT NOT NULL,
            channel TEXT NOT NULL,
            phone TEXT,
            locale TEXT NOT NULL,
            officer TEXT,
            fields TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'received',
            created_at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            digest TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX requests_code ON requests(tracking_code)")
    db.execute("CREATE INDEX requests_node_status ON requests(node_id, status)")
    db.execute("CREATE INDEX requests_status ON requests(status)")


@migrations()
def m003_events(db: sqlite_utils.Database) -> None:
    # seq is the pull cursor (per node: node_id, seq); see RegionalStore.pull.
    # applied: 1 moved (or confirmed) the case, 2 a note, 0 not applied (the
    # regional server had already moved past it).
    db.execute("""
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            request_id TEXT NOT NULL REFERENCES requests(id),
            node_id TEXT NOT NULL,
            status TEXT NOT NULL,
            actor TEXT NOT NULL,
            at TEXT NOT NULL,
            note TEXT,
            origin TEXT NOT NULL,
            received_at TEXT NOT NULL,
            applied INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("CREATE INDEX events_pull ON events(node_id, seq)")
    db.execute("CREATE INDEX events_request ON events(request_id, seq)")


@migrations()
def m004_conflicts_users(db: sqlite_utils.Database) -> None:
    # kind: 'content' (same UUID, different content), 'tracking_code' (one
    # code on two nodes), 'event' (same event id, different content).
    db.execute("""
        CREATE TABLE conflicts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            node_id TEXT NOT NULL,
            request_id TEXT NOT NULL,
            tracking_code TEXT,
            detail TEXT NOT NULL,
            digest TEXT NOT NULL,
            at TEXT NOT NULL,
            resolved_at TEXT,
            resolved_by TEXT,
            UNIQUE (kind, request_id, digest)
        )""")
    db.execute("""
        CREATE TABLE users (
            username TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""")


@migrations()
def m005_audit(db: sqlite_utils.Database) -> None:
    # Each node's audit chain as received (ids and action kinds, no personal
    # data), only ever appended to after the continuity check in the store.
    db.execute("""
        CREATE TABLE audit_entries (
            node_id TEXT NOT NULL REFERENCES nodes(id),
            seq INTEGER NOT NULL,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (node_id, seq)
        ) WITHOUT ROWID""")
    # A finding about a node a case worker must look at. kind 'audit_chain':
    # the node sent audit history that does not extend what the server holds
    # (detail: problem, seq, held and received hashes).
    db.execute("""
        CREATE TABLE node_flags (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            node_id TEXT NOT NULL REFERENCES nodes(id),
            kind TEXT NOT NULL,
            detail TEXT NOT NULL,
            digest TEXT NOT NULL,
            at TEXT NOT NULL,
            resolved_at TEXT,
            resolved_by TEXT,
            UNIQUE (node_id, kind, digest)
        )""")


@migrations()
def m006_sealed(db: sqlite_utils.Database) -> None:
    # Personal fields arrive sealed to this server's key (docs/sync-protocol.md):
    # `sealed` is the node's regional copy as received (opened only when a case
    # worker views it, so this file holds no personal data in clear);
    # seal_problem says why it cannot be opened (NULL: it opens, or none).
    # seal_epochs: each node's epoch public keys (epoch ids are per node) and
    # the id of the regional key the epoch sealed to.
    db.execute("ALTER TABLE requests ADD COLUMN sealed BLOB")
    db.execute("ALTER TABLE requests ADD COLUMN seal_problem TEXT")
    db.execute("CREATE INDEX requests_seal_problem ON requests(seal_problem) WHERE seal_problem IS NOT NULL")
    db.execute("""
        CREATE TABLE seal_epochs (
            node_id TEXT NOT NULL REFERENCES nodes(id),
            id INTEGER NOT NULL,
            public BLOB NOT NULL,
            regional_key TEXT,
            received_at TEXT NOT NULL,
            PRIMARY KEY (node_id, id)
        ) WITHOUT ROWID""")
    # Notes on node events arrive sealed too; the server opens them on receipt
    # and keeps them in clear (case workers' own notes are clear anyway).
    db.execute("ALTER TABLE events ADD COLUMN note_problem TEXT")


# Plain SQL that PostgreSQL runs unchanged (case-worker sessions and throttle).
CASE_WORKER_SQL = (
    "ALTER TABLE users ADD COLUMN disabled_at TEXT",
    "ALTER TABLE users ADD COLUMN updated_at TEXT",
    """
        CREATE TABLE web_sessions (
            id_hash TEXT PRIMARY KEY,
            username TEXT NOT NULL REFERENCES users(username),
            csrf_secret TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )""",
    "CREATE INDEX web_sessions_user ON web_sessions(username)",
    """
        CREATE TABLE login_failures (
            username TEXT NOT NULL,
            client TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failure_at TEXT NOT NULL,
            blocked_until TEXT,
            PRIMARY KEY (username, client)
        )""",
)


@migrations()
def m007_case_worker_sessions(db: sqlite_utils.Database) -> None:
    # Server-side case-worker sessions and the login throttle of the web
    # toolkit (gateway.web.sessions, gateway.web.throttle): in the database,
    # never in process memory, so several workers share them. disabled_at:
    # a switched-off user (`simpul regional user disable`); sessions are
    # checked against it on every request.
    for sql in CASE_WORKER_SQL:
        db.execute(sql)


# Plain SQL that PostgreSQL runs unchanged (the fleet view's columns).
NODE_HEALTH_SQL = (
    "ALTER TABLE nodes ADD COLUMN name TEXT",
    "ALTER TABLE nodes ADD COLUMN last_sync_at TEXT",
    "ALTER TABLE nodes ADD COLUMN health_at TEXT",
    "ALTER TABLE nodes ADD COLUMN queue_depth INTEGER",
    "ALTER TABLE nodes ADD COLUMN oldest_unsynced_age_s INTEGER",
    "ALTER TABLE nodes ADD COLUMN version TEXT",
    "ALTER TABLE nodes ADD COLUMN disk_free_mb INTEGER",
    "ALTER TABLE nodes ADD COLUMN clock_offset_s INTEGER",
    "ALTER TABLE nodes ADD COLUMN reported_audit_seq INTEGER",
    "ALTER TABLE nodes ADD COLUMN reported_audit_hash TEXT",
)


@migrations()
def m008_node_health(db: sqlite_utils.Database) -> None:
    # What each push reports about the node (sync.protocol.health), for the
    # fleet view: last_sync_at is the last acknowledged push (last_seen_at is
    # any request), clock_offset_s the node's clock minus ours at that push.
    for sql in NODE_HEALTH_SQL:
        db.execute(sql)


@migrations()
def m009_enrolments(db: sqlite_utils.Database) -> None:
    # One-time enrolment codes (`simpul regional enrol-node`): only a hash of
    # the code is kept; used_at burns it (a second use is refused).
    db.execute("""
        CREATE TABLE enrolments (
            code_hash TEXT PRIMARY KEY,
            node_id TEXT NOT NULL REFERENCES nodes(id),
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        )""")


@migrations()
def m020_parcels(db: sqlite_utils.Database) -> None:
    # Sneakernet files applied or written (sync.regional.parcel_log): a file
    # applies once by its id, whatever the node's HTTP request counter says.
    from sync.regional.parcel_log import TABLE_SQL

    db.execute(TABLE_SQL)


# Plain SQL so the PostgreSQL schema can run the same statement.
OPEN_THREADS_SQL = "ALTER TABLE nodes ADD COLUMN open_threads INTEGER"


@migrations()
def m013_node_open_threads(db: sqlite_utils.Database) -> None:
    # How many citizens wait for an answer in the node's inbox (push health
    # "open_threads"; the questions themselves never leave the node). NULL:
    # the node predates the inbox or has not pushed since.
    db.execute(OPEN_THREADS_SQL)


# Plain SQL that PostgreSQL runs unchanged (events: what a case worker marked).
EVENT_FLAGS_SQL = (
    "ALTER TABLE events ADD COLUMN internal INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE events ADD COLUMN reopen INTEGER NOT NULL DEFAULT 0",
)


@migrations()
def m021_event_flags(db: sqlite_utils.Database) -> None:
    # internal: the note is for the office only (never sent to the citizen;
    # crosses the wire with the event both ways). reopen: the event moved a
    # closed case back to in_progress, which needs an explicit reopen (the
    # history shows it as such). Notes recorded before this went to citizens.
    for sql in EVENT_FLAGS_SQL:
        db.execute(sql)


@migrations()
def m022_analytics(db: sqlite_utils.Database) -> None:
    # Facts the district analytics count once (sync/regional/analytics.py):
    # when a request first became ready / rejected, the reason category, the
    # citizen's rating (never the comment); and the tallies kept at ingest.
    for column, kind in (("ready_at", "TEXT"), ("rejected_at", "TEXT"), ("reject_reason", "TEXT"),
                         ("rating", "INTEGER")):
        db.execute(f"ALTER TABLE requests ADD COLUMN {column} {kind}")
    db.execute("""
        CREATE TABLE tallies (
            node_id TEXT NOT NULL,
            month TEXT NOT NULL,
            service TEXT NOT NULL,
            channel TEXT NOT NULL,
            metric TEXT NOT NULL,
            key TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (node_id, month, service, channel, metric, key)
        ) WITHOUT ROWID""")


# Plain SQL that PostgreSQL runs unchanged: the catalog a node refused (JSON, NULL when none).
CATALOG_REFUSED_SQL = "ALTER TABLE nodes ADD COLUMN catalog_refused TEXT"


@migrations()
def m023_node_catalog_refused(db: sqlite_utils.Database) -> None:
    # A node refuses a published catalog that would store in clear a field
    # it seals, and says so in every push (sync.protocol.health) until a
    # corrected catalog comes: {"version", "fields", "at"} as JSON.
    db.execute(CATALOG_REFUSED_SQL)


# Plain SQL that PostgreSQL runs unchanged: each node's request count, kept at
# ingest so the fleet view never counts a million rows per page view.
REQUEST_COUNT_SQL = "ALTER TABLE nodes ADD COLUMN requests BIGINT NOT NULL DEFAULT 0"


@migrations()
def m024_node_request_counts(db: sqlite_utils.Database) -> None:
    # nodes.requests: how many distinct requests (by UUID) the node has sent;
    # raised by the number NEW in each push, in that push's transaction, so a
    # resent or replayed batch never counts twice (sync.regional.store). The
    # backfill counts what is already held, once.
    db.execute(REQUEST_COUNT_SQL)
    db.execute("UPDATE nodes SET requests = (SELECT count(*) FROM requests r WHERE r.node_id = nodes.id)")
