"""Schema of the SMS part: the inbound message log (set name kept from when it held ``outbound``)."""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.channels")


@migrations()
def m001_outbound(db: sqlite_utils.Database) -> None:
    # Kept by name so databases that applied it stay valid: the outbound
    # queue is now the core's table (gateway/storage/migrations.py m009),
    # created there before any part's set runs.
    pass


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
    # Kept by name (see m001): the delivery columns and indexes are part of
    # the core's outbound table now.
    pass
