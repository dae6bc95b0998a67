"""The regional schema on PostgreSQL: versioned migrations, monthly partitions.

Same tables and columns as the SQLite set (:mod:`sync.regional.migrations`),
so the store's SQL is shared. What differs, and why (docs/architecture.md):

- ``requests`` and ``events`` are partitioned by month of ``received_at``
  (ISO text in the "C" collation, so ranges are plain string ranges), and
  node_id leads every one of their indexes, so sharding by node (Citus-style)
  stays open. ``requests_recent (rid)`` is the one exception: the case list
  without a filter pages newest first.
- A partitioned table can only have unique keys that contain the partition
  column, and a resend may arrive in a later month than the first copy. So
  uniqueness lives in two small unpartitioned key tables,
  ``request_keys`` (request UUID -> node, month, tracking code) and
  ``event_keys`` (event id -> node, month): a request is "new" exactly when
  its UUID goes into ``request_keys``.

Migrations are applied in order, each once, under an advisory lock (several
workers may start at the same time); ``schema_migrations`` records them.
"""

from __future__ import annotations

from typing import Any

from sync.regional.migrations import (
    CASE_WORKER_SQL,
    CATALOG_REFUSED_SQL,
    EVENT_FLAGS_SQL,
    NODE_HEALTH_SQL,
    OPEN_THREADS_SQL,
    REQUEST_COUNT_SQL,
)
from sync.regional.parcel_log import TABLE_SQL as PARCELS_TABLE_SQL

LOCK_ID = 0x51A9_0001  # pg_advisory_lock key for migrating and creating partitions

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("m001_initial", """
        CREATE TABLE nodes (
            id text PRIMARY KEY,
            secret text NOT NULL,
            last_counter bigint NOT NULL DEFAULT 0,
            created_at text NOT NULL,
            last_seen_at text
        );
        CREATE TABLE request_keys (
            id text PRIMARY KEY,
            node_id text NOT NULL REFERENCES nodes(id),
            month text NOT NULL,
            tracking_code text NOT NULL
        );
        CREATE INDEX request_keys_code ON request_keys (tracking_code);
        CREATE TABLE requests (
            rid bigserial NOT NULL,
            id text NOT NULL,
            node_id text NOT NULL,
            node_seq bigint NOT NULL,
            tracking_code text NOT NULL,
            service text NOT NULL,
            channel text NOT NULL,
            phone text,
            locale text NOT NULL,
            officer text,
            fields text NOT NULL,
            status text NOT NULL DEFAULT 'received',
            created_at text NOT NULL,
            received_at text COLLATE "C" NOT NULL,
            updated_at text NOT NULL,
            digest text NOT NULL,
            sealed bytea,
            seal_problem text
        ) PARTITION BY RANGE (received_at);
        CREATE INDEX requests_node_id ON requests (node_id, id);
        CREATE INDEX requests_node_status ON requests (node_id, status, rid);
        CREATE INDEX requests_recent ON requests (rid);
        CREATE INDEX requests_seal_problem ON requests (node_id) WHERE seal_problem IS NOT NULL;
        CREATE TABLE event_keys (
            id text PRIMARY KEY,
            node_id text NOT NULL,
            month text NOT NULL
        );
        CREATE TABLE events (
            seq bigserial NOT NULL,
            id text NOT NULL,
            request_id text NOT NULL,
            node_id text NOT NULL,
            status text NOT NULL,
            actor text NOT NULL,
            at text NOT NULL,
            note text,
            origin text NOT NULL,
            received_at text COLLATE "C" NOT NULL,
            applied integer NOT NULL DEFAULT 1,
            note_problem text
        ) PARTITION BY RANGE (received_at);
        CREATE INDEX events_pull ON events (node_id, seq);
        CREATE INDEX events_request ON events (node_id, request_id, seq);
        CREATE INDEX events_id ON events (node_id, id);
        CREATE TABLE conflicts (
            id bigserial PRIMARY KEY,
            kind text NOT NULL,
            node_id text NOT NULL,
            request_id text NOT NULL,
            tracking_code text,
            detail text NOT NULL,
            digest text NOT NULL,
            at text NOT NULL,
            resolved_at text,
            resolved_by text,
            UNIQUE (kind, request_id, digest)
        );
        CREATE TABLE users (
            username text PRIMARY KEY,
            password_hash text NOT NULL,
            created_at text NOT NULL
        );
        CREATE TABLE audit_entries (
            node_id text NOT NULL REFERENCES nodes(id),
            seq bigint NOT NULL,
            at text NOT NULL,
            actor text NOT NULL,
            action text NOT NULL,
            subject text,
            details text NOT NULL,
            prev_hash text NOT NULL,
            hash text NOT NULL,
            received_at text NOT NULL,
            PRIMARY KEY (node_id, seq)
        );
        CREATE TABLE node_flags (
            id bigserial PRIMARY KEY,
            node_id text NOT NULL REFERENCES nodes(id),
            kind text NOT NULL,
            detail text NOT NULL,
            digest text NOT NULL,
            at text NOT NULL,
            resolved_at text,
            resolved_by text,
            UNIQUE (node_id, kind, digest)
        );
        CREATE TABLE seal_epochs (
            node_id text NOT NULL REFERENCES nodes(id),
            id bigint NOT NULL,
            public bytea NOT NULL,
            regional_key text,
            received_at text NOT NULL,
            PRIMARY KEY (node_id, id)
        );
    """),
    ("m002_analytics", """
        ALTER TABLE requests ADD COLUMN ready_at text, ADD COLUMN rejected_at text,
            ADD COLUMN reject_reason text, ADD COLUMN rating integer;
        CREATE TABLE tallies (
            node_id text NOT NULL,
            month text NOT NULL,
            service text NOT NULL,
            channel text NOT NULL,
            metric text NOT NULL,
            key text NOT NULL,
            n bigint NOT NULL,
            PRIMARY KEY (node_id, month, service, channel, metric, key)
        );
    """),
    # The fleet view's columns: the very statements of the SQLite m008_node_health.
    ("m003_node_health", ";\n".join(NODE_HEALTH_SQL)),
    ("m004_enrolments", """
        CREATE TABLE enrolments (
            code_hash text PRIMARY KEY,
            node_id text NOT NULL REFERENCES nodes(id),
            name text NOT NULL,
            created_at text NOT NULL,
            expires_at text NOT NULL,
            used_at text
        );
    """),
    ("m005_case_worker_sessions", ";\n".join(CASE_WORKER_SQL)),
    ("m006_parcels", PARCELS_TABLE_SQL),  # sneakernet files (sync.regional.parcel_log), as on SQLite
    ("m007_node_open_threads", OPEN_THREADS_SQL),  # the SQLite m013 statement (inbox threads waiting)
    ("m008_event_flags", ";\n".join(EVENT_FLAGS_SQL)),  # the SQLite m021: internal notes, reopens
    ("m009_node_catalog_refused", CATALOG_REFUSED_SQL),  # the SQLite m023: the catalog a node refuses (JSON)
    # The SQLite m024 column; the backfill counts the unpartitioned key table once.
    ("m010_node_request_counts", REQUEST_COUNT_SQL + """;
        UPDATE nodes n SET requests = c.n
        FROM (SELECT node_id, count(*) AS n FROM request_keys GROUP BY node_id) c WHERE c.node_id = n.id"""),
)

PARTITIONED = ("requests", "events")


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def apply(conn: Any) -> list[str]:
    """Apply the migrations not yet applied (autocommit connection); returns their names."""
    done = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at text NOT NULL)")
        have = {r[0] for r in conn.execute("SELECT name FROM schema_migrations").fetchall()}
        for name, sql in MIGRATIONS:
            if name in have:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (%s, to_char(now() AT TIME ZONE "
                         "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))", [name])
            done.append(name)
    return done


def ensure_month(conn: Any, month: str) -> None:
    """Create this month's partitions of requests and events if missing (autocommit connection)."""
    if len(month) != 7 or not month[:4].isdigit() or month[4] != "-" or not month[5:].isdigit():
        raise ValueError(f"not a month: {month!r}")
    suffix = month.replace("-", "_")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
        for table in PARTITIONED:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table}_{suffix} PARTITION OF {table} "
                         f"FOR VALUES FROM ('{month}') TO ('{next_month(month)}')")
