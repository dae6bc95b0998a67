"""Schema owned by the ``channels`` package (its own migration set)."""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.channels")


@migrations()
def m001_outbound(db: sqlite_utils.Database) -> None:
    # Every SMS the node sends is first a row here (durable with the event
    # that caused it); `key` makes enqueueing idempotent so a retried job or
    # a re-applied sync event can never send the same notification twice.
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
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX outbound_due ON outbound(status, next_attempt_at)")


@migrations()
def m002_sms_inbound(db: sqlite_utils.Database) -> None:
    # One row per inbound SMS, keyed by the provider's id (Twilio MessageSid,
    # Gammu inbox file name): the atomic claim that makes a redelivery return
    # the first reply and store nothing new. The body is NOT kept (personal
    # data); the reply is (a tracking code at most). `replied` = 0 means the
    # reply-storm guard held it back; the guard counts replied rows per phone
    # in the last hour.
    db.execute(
        """
        CREATE TABLE sms_inbound (
            message_id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            phone TEXT NOT NULL,
            kind TEXT NOT NULL,
            request_id TEXT,
            reply TEXT,
            replied INTEGER NOT NULL DEFAULT 0,
            received_at TEXT NOT NULL
        ) WITHOUT ROWID
        """
    )
    # WITHOUT ROWID and no age index: each webhook request touches as few
    # b-trees as possible (the clean-up job may scan; it runs every 6 hours).
    db.execute("CREATE INDEX sms_inbound_replies ON sms_inbound(phone, received_at) WHERE replied = 1")


@migrations()
def m003_outbound_delivery(db: sqlite_utils.Database) -> None:
    # Delivery bookkeeping for the sender job: when the last attempt started
    # (pacing and the crash lease), the provider's own status word and error
    # code (status callbacks), and when it was handed to the provider.
    db.execute("ALTER TABLE outbound ADD COLUMN last_attempt_at TEXT")
    db.execute("ALTER TABLE outbound ADD COLUMN sent_at TEXT")
    db.execute("ALTER TABLE outbound ADD COLUMN provider_status TEXT")
    db.execute("ALTER TABLE outbound ADD COLUMN error_code TEXT")
    db.execute("CREATE INDEX outbound_provider_id ON outbound(provider, provider_id)")
    db.execute("CREATE INDEX outbound_pacing ON outbound(provider, last_attempt_at)")
