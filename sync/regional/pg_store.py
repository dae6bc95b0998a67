"""The regional store on PostgreSQL (``[regional] database_url = "postgresql://…"``), psycopg 3.

One connection per thread for writes and one for reads (waitress and
gunicorn threads each get their own; nothing is shared across a fork, as
connections are opened lazily in the worker). Every write is one transaction
at READ COMMITTED: the node's row in ``nodes`` is locked by the counter claim,
so two pushes of one node serialize while different nodes ingest in parallel.

A push of requests is one batch: COPY into a session temp table, then ONE
``INSERT … SELECT … ON CONFLICT`` whose data-modifying CTEs fill the key
table, the month's partition and the "received" events together; resends and
conflicts are then told apart with set queries over the same temp table.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from gateway import clock
from gateway.errors import ConfigError
from sync.errors import RegionalError
from sync.regional import ingest, pg_schema
from sync.regional.dbapi import Db, PgDb
from sync.regional.sealkeys import RegionalKeys
from sync.regional.store import SqlRegionalStore

T = TypeVar("T")
PASSWORD_ENV = "SIMPUL_REGIONAL_DATABASE_PASSWORD"
REPLICA_TIMEOUT = 2  # seconds to reach the standby before a page falls back to the primary
LAG_SECONDS = 60  # a standby further behind than this is reported as lagging
INCOMING = """
    CREATE TEMP TABLE IF NOT EXISTS incoming (
        ord integer NOT NULL, id text NOT NULL, node_seq bigint NOT NULL, tracking_code text NOT NULL,
        service text NOT NULL, channel text NOT NULL, phone text, locale text NOT NULL, officer text,
        fields text NOT NULL, created_at text NOT NULL, digest text NOT NULL, sealed bytea, seal_problem text
    ) ON COMMIT DELETE ROWS"""
INCOMING_COLS = ("ord", "id", "node_seq", "tracking_code", "service", "channel", "phone", "locale", "officer",
                 "fields", "created_at", "digest", "sealed", "seal_problem")
INSERT_BATCH = """
    WITH k AS (
        INSERT INTO request_keys (id, node_id, month, tracking_code)
        SELECT id, %(node)s, %(month)s, tracking_code FROM incoming ORDER BY ord
        ON CONFLICT (id) DO NOTHING RETURNING id
    ), r AS (
        INSERT INTO requests (id, node_id, node_seq, tracking_code, service, channel, phone, locale, officer,
                              fields, created_at, received_at, updated_at, digest, sealed, seal_problem)
        SELECT i.id, %(node)s, i.node_seq, i.tracking_code, i.service, i.channel, i.phone, i.locale, i.officer,
               i.fields, i.created_at, %(now)s, %(now)s, i.digest, i.sealed, i.seal_problem
        FROM incoming i JOIN k USING (id) ORDER BY i.ord
        RETURNING id
    ), ek AS (
        INSERT INTO event_keys (id, node_id, month)
        SELECT 'recv:' || id, %(node)s, %(month)s FROM k
        ON CONFLICT (id) DO NOTHING
    ), e AS (
        INSERT INTO events (id, request_id, node_id, status, actor, at, note, origin, received_at)
        SELECT 'recv:' || i.id, i.id, %(node)s, 'received', coalesce(i.officer, i.channel), i.created_at, NULL,
               'node', %(now)s
        FROM incoming i JOIN k USING (id) ORDER BY i.ord
    )
    SELECT id FROM r"""


def _dsn(url: str) -> dict[str, Any]:
    """Connection parameters; a password in the URL is refused (it would sit in config.toml)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # noqa: BLE001 - psycopg raises ProgrammingError for bad URLs
        raise ConfigError(f"regional.database_url is not a PostgreSQL URL: {exc}") from None
    if params.get("password"):
        raise ConfigError(f"regional.database_url must not carry a password: set {PASSWORD_ENV} "
                            "or use libpq's PGPASSFILE / peer authentication")
    if os.environ.get(PASSWORD_ENV):
        params["password"] = os.environ[PASSWORD_ENV]
    return params


def connect(url: str, **kwargs: Any) -> Any:
    import psycopg

    params = _dsn(url)
    params.update(kwargs)
    params.setdefault("connect_timeout", 10)
    params.setdefault("application_name", "simpul-regional")
    try:
        return psycopg.connect(autocommit=True, **params)
    except psycopg.OperationalError as exc:
        raise RegionalError(f"cannot connect to regional.database_url: {str(exc).strip()}") from None


class _Conns(threading.local):
    write: Any = None
    read: Any = None
    replica: Any = None


class PostgresRegionalStore(SqlRegionalStore):
    engine = "postgresql"
    request_dir = "request_keys"
    event_dir = "event_keys"
    row_lock = " FOR UPDATE"  # READ COMMITTED: two logins of one pair must not both read the old count

    def __init__(self, url: str, keys: RegionalKeys | None = None, read_url: str | None = None):
        self.keys = keys
        self.url = url
        self.read_url = read_url or None
        self._local = _Conns()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._months: set[str] = set()
        conn = connect(url)
        try:
            pg_schema.apply(conn)
        finally:
            conn.close()

    # --- connections ----------------------------------------------------------
    def _conn(self, slot: str, url: str, **kwargs: Any) -> Any:
        conn = getattr(self._local, slot)
        if conn is None or conn.closed or conn.broken:
            conn = connect(url, **kwargs)
            setattr(self._local, slot, conn)
            with self._lock:
                self._all.append(conn)
            if slot == "write":
                conn.execute(INCOMING)
        return conn

    def _ensure_month(self, conn: Any, month: str) -> None:
        if month not in self._months:
            pg_schema.ensure_month(conn, month)
            self._months.add(month)

    def write(self, job: Callable[[Db], T]) -> T:
        conn = self._conn("write", self.url)
        self._ensure_month(conn, clock.utcnow()[:7])
        with conn.transaction():
            return job(PgDb(conn))

    def read(self) -> Db:
        return PgDb(self._conn("read", self.url))

    def reader(self) -> tuple[Db, str, str]:
        if self.read_url is None:
            return super().reader()
        import psycopg

        try:
            conn = self._conn("replica", self.read_url, connect_timeout=REPLICA_TIMEOUT)
            caught_up, replayed = conn.execute(
                "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), "
                "to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            ).fetchone()
        except (psycopg.Error, RegionalError):
            self._local.replica = None
            return self.read(), clock.utcnow(), "standby_down"
        if caught_up:  # everything received is applied: as fresh as the link
            return PgDb(conn), clock.utcnow(), "standby"
        as_of = replayed or clock.utcnow()
        lag = clock.age_seconds(as_of) or 0
        return PgDb(conn), as_of, "lagging" if lag > LAG_SECONDS else "standby"

    def standby_lost(self, exc: Exception) -> bool:
        import psycopg

        if not isinstance(exc, psycopg.Error) or self.read_url is None:
            return False
        self._local.replica = None  # the next page checks the standby afresh
        return True

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass

    # --- batch ingest ---------------------------------------------------------
    def insert_requests(self, db: Db, node_id: str, rows: list[dict[str, Any]], now: str,
                        summary: dict[str, int]) -> list[str]:
        conn = db.conn  # type: ignore[attr-defined]
        with conn.cursor() as cur:
            with cur.copy(f"COPY incoming ({', '.join(INCOMING_COLS)}) FROM STDIN") as copy:
                for ord_, r in enumerate(rows):
                    copy.write_row((ord_, r["id"], r["node_seq"], r["tracking_code"], r["service"], r["channel"],
                                    r["phone"], r["locale"], r["officer"], r["fields"], r["created_at"],
                                    r["digest"], r["sealed"], r["problem"]))
            cur.execute(INSERT_BATCH, {"node": node_id, "month": now[:7], "now": now})
            new = {row[0] for row in cur.fetchall()}
        by_id = {r["id"]: r for r in rows}
        summary["new"] += len(new)
        summary["unopenable"] += sum(1 for i in new if by_id[i]["problem"] is not None)
        if len(new) < len(rows):
            old = db.execute(
                "SELECT i.id, r.digest, r.node_id FROM incoming i JOIN request_keys k ON k.id = i.id "
                "JOIN requests r ON r.node_id = k.node_id AND r.id = k.id WHERE NOT (i.id = ANY(?))",
                [list(new)]).fetchall()
            for request_id, digest, owner in old:
                if digest == by_id[request_id]["digest"] and owner == node_id:
                    summary["same"] += 1
                else:
                    summary["conflicts"] += ingest.content_conflict(db, node_id, by_id[request_id], now)
        if new:
            # Another request with the same code: one held before this batch, or an earlier row of it.
            clashes = db.execute(
                "SELECT DISTINCT ON (i.ord) i.id, k.id, k.node_id FROM incoming i "
                "JOIN request_keys k ON k.tracking_code = i.tracking_code AND k.id <> i.id "
                "LEFT JOIN incoming o ON o.id = k.id "
                "WHERE i.id = ANY(?) AND (o.ord IS NULL OR o.ord < i.ord OR NOT (o.id = ANY(?))) "
                "ORDER BY i.ord, o.ord NULLS FIRST", [list(new), list(new)]).fetchall()
            for request_id, other_id, other_node in clashes:
                summary["code_clashes"] += ingest.code_clash(db, node_id, by_id[request_id], other_id,
                                                             other_node, now)
        return list(new)

    def insert_event(self, db: Db, event: dict[str, Any]) -> None:
        db.execute("INSERT INTO event_keys (id, node_id, month) VALUES (?, ?, ?)",
                   [event["id"], event["node_id"], event["received_at"][:7]])
        super().insert_event(db, event)
