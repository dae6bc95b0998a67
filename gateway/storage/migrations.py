"""Schema of the node core: requests, their status events, contacts, node state."""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.gateway")


@migrations()
def m001_requests(db: sqlite_utils.Database) -> None:
    # seq is the per-node order sync relies on; AUTOINCREMENT never reuses a
    # number, even after the newest row is deleted.
    db.execute(
        """
        CREATE TABLE requests (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            tracking_code TEXT NOT NULL UNIQUE,
            service TEXT NOT NULL,
            channel TEXT NOT NULL,
            channel_message_id TEXT,
            phone TEXT,
            locale TEXT NOT NULL,
            fields TEXT NOT NULL,
            status TEXT NOT NULL,
            officer TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            synced INTEGER NOT NULL DEFAULT 0,
            UNIQUE (channel, channel_message_id)
        )
        """
    )
    db.execute("CREATE INDEX requests_status ON requests(status)")
    db.execute("CREATE INDEX requests_unsynced ON requests(synced, seq)")
    db.execute("CREATE INDEX requests_phone ON requests(phone)")


@migrations()
def m002_status_events(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE status_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            request_id TEXT NOT NULL REFERENCES requests(id),
            status TEXT NOT NULL,
            actor TEXT NOT NULL,
            at TEXT NOT NULL,
            note TEXT,
            origin TEXT NOT NULL DEFAULT 'node',
            synced INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX status_events_request ON status_events(request_id, seq)")
    db.execute("CREATE INDEX status_events_unsynced ON status_events(synced, seq)")


@migrations()
def m003_node_state(db: sqlite_utils.Database) -> None:
    # contacts: a citizen's chosen language, by E.164 number.
    db.execute("CREATE TABLE contacts (phone TEXT PRIMARY KEY, locale TEXT NOT NULL, updated_at TEXT NOT NULL)")
    # kv: small facts about this node (last_sync_at, catalog_version, ...).
    db.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # code_clashes: a drawn tracking code that already existed (drawn again).
    db.execute("CREATE TABLE code_clashes (code TEXT NOT NULL, at TEXT NOT NULL)")


@migrations()
def m004_audit_log(db: sqlite_utils.Database) -> None:
    # Append-only, hash-chained: each entry commits to the one before it, so
    # rewriting history means recomputing every later hash (and the head the
    # regional server has already seen will not match).
    db.execute(
        """
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        )
        """
    )
    db.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )


@migrations()
def m005_purged_at(db: sqlite_utils.Database) -> None:
    # Set when retention removed a request's personal fields (UU 27/2022, Pasal 44).
    db.execute("ALTER TABLE requests ADD COLUMN purged_at TEXT")


@migrations()
def m006_sealing(db: sqlite_utils.Database) -> None:
    # Personal fields leave `fields` and live only sealed (gateway/privacy/vault.py):
    # `sealed` for the node's officers, `sealed_regional` for sync. Lookups by
    # NIK or phone go through request_index (keyed HMAC tokens, gateway/privacy/lookup.py);
    # index_key names the node key whose index key made a row's tokens.
    db.execute("CREATE TABLE node_keys (key_id TEXT PRIMARY KEY, public BLOB NOT NULL, "
               "created_at TEXT NOT NULL, retired_at TEXT)")
    db.execute("CREATE TABLE key_holders (name TEXT PRIMARY KEY, public BLOB NOT NULL, slot TEXT NOT NULL, "
               "created_at TEXT NOT NULL, updated_at TEXT NOT NULL)")
    db.execute("CREATE TABLE key_grants (holder TEXT NOT NULL, key_id TEXT NOT NULL, sealed BLOB NOT NULL, "
               "granted_at TEXT NOT NULL, PRIMARY KEY (holder, key_id))")
    db.execute("CREATE TABLE seal_epochs (id INTEGER PRIMARY KEY AUTOINCREMENT, public BLOB NOT NULL, "
               "node_key TEXT NOT NULL, regional_key BLOB, created_at TEXT NOT NULL)")
    db.execute("ALTER TABLE requests ADD COLUMN sealed BLOB")
    db.execute("ALTER TABLE requests ADD COLUMN sealed_regional BLOB")
    db.execute("ALTER TABLE requests ADD COLUMN index_key TEXT")
    db.execute("CREATE INDEX requests_unindexed ON requests(seq) WHERE index_key IS NULL")
    db.execute("CREATE TABLE request_index (token TEXT NOT NULL, request_id TEXT NOT NULL, "
               "PRIMARY KEY (token, request_id)) WITHOUT ROWID")
    db.execute("CREATE INDEX request_index_request ON request_index(request_id)")


@migrations()
def m007_sealed_notes(db: sqlite_utils.Database) -> None:
    # An event's note is free text ("diambil Siti"): sealed like personal
    # fields (purpose "note", record id = the event id). `note` stays NULL for
    # a sealed note; it holds clear text only for events recorded without a
    # vault (older rows).
    db.execute("ALTER TABLE status_events ADD COLUMN note_sealed BLOB")
    db.execute("ALTER TABLE status_events ADD COLUMN note_sealed_regional BLOB")


@migrations()
def m008_index_form_phones(db: sqlite_utils.Database) -> None:
    # Phone numbers typed into `phone` fields now get blind-index tokens too
    # (gateway/privacy/lookup.py): every row is indexed afresh by the next officer
    # login that holds the node key (tokens cannot be computed without it).
    db.execute("DELETE FROM request_index")
    db.execute("UPDATE requests SET index_key = NULL WHERE purged_at IS NULL")


@migrations()
def m009_outbound(db: sqlite_utils.Database) -> None:
    # The outbound queue (gateway/outbox) became a core table. Databases made
    # before this have it from the sms part's set ("simpul.channels" m001 and
    # m003), which keeps its name and history and now skips what exists; a
    # new database gets the whole table here. Every SMS the node sends is
    # first a row (durable with the event that caused it); `key` makes
    # enqueueing idempotent, so a retried job or a re-applied sync event can
    # never send the same notification twice.
    if "outbound" in db.table_names():
        return
    db.execute(
        """
        CREATE TABLE outbound (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            "to" TEXT NOT NULL,
            body TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'notification',
            request_id TEXT,
            status TEXT NOT NULL DEFAULT 'queued',
            provider TEXT,
            provider_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            last_attempt_at TEXT,
            sent_at TEXT,
            provider_status TEXT,
            error_code TEXT
        )
        """
    )
    db.execute("CREATE INDEX outbound_due ON outbound(status, next_attempt_at)")
    db.execute("CREATE INDEX outbound_provider_id ON outbound(provider, provider_id)")
    db.execute("CREATE INDEX outbound_pacing ON outbound(provider, last_attempt_at)")


@migrations()
def m010_citizen_notes(db: sqlite_utils.Database) -> None:
    # status_events.internal: 1 = an officer's internal note (sealed, never
    # sent or shown to the citizen); 0 = a note for the citizen, which is
    # stored in clear in `note` like the SMS that carries it (docs/security.md).
    # Notes recorded before this were all kept from the citizen: internal.
    db.execute("ALTER TABLE status_events ADD COLUMN internal INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE status_events SET internal = 1 WHERE note IS NOT NULL OR note_sealed IS NOT NULL")
    # outbound.segments: what each SMS costs (`simpul outbox --json`);
    # outbound.locale: its language, to re-render a body blanked after delivery.
    db.execute("ALTER TABLE outbound ADD COLUMN segments INTEGER")
    db.execute("ALTER TABLE outbound ADD COLUMN locale TEXT")


@migrations()
def m011_inbox(db: sqlite_utils.Database) -> None:
    # The citizen inbox (gateway/inbox): questions by SMS and officers' answers.
    # A thread is every row of one phone. The text is free text a citizen typed,
    # so only its sealed node copy is kept (`text_sealed`, purpose "inbox",
    # record id = `uid`); threads never leave the node (no regional copy).
    # `message_id`: the inbound SMS's provider id (a redelivery stores nothing).
    # `acked`: this question's reply carried the "question received" line (one an
    # hour per phone). `handled_at`: answered or closed; retention deletes rows
    # `retention.days` after it. `outbound_key`: an answer's row in the outbox.
    db.execute(
        """
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            uid TEXT NOT NULL UNIQUE,
            phone TEXT NOT NULL,
            direction TEXT NOT NULL,
            kind TEXT NOT NULL,
            message_id TEXT UNIQUE,
            text_sealed BLOB,
            at TEXT NOT NULL,
            acked INTEGER NOT NULL DEFAULT 0,
            handled_at TEXT,
            handled_by TEXT,
            officer TEXT,
            outbound_key TEXT
        )
        """
    )
    db.execute("CREATE INDEX inbox_phone ON inbox(phone, id)")
    db.execute("CREATE INDEX inbox_open ON inbox(phone) WHERE direction = 'in' AND handled_at IS NULL")
    db.execute("CREATE INDEX inbox_handled ON inbox(handled_at) WHERE handled_at IS NOT NULL")


@migrations()
def m012_reject_reason(db: sqlite_utils.Database) -> None:
    # status_events.reason: the catalog's reject_reasons code an officer chose
    # when rejecting (beside the free-text note); it travels to the regional
    # server for the district analytics. NULL: none chosen (counted "unknown").
    db.execute("ALTER TABLE status_events ADD COLUMN reason TEXT")
