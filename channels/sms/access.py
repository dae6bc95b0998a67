"""The SMS channel's part of the right-of-access report (hook ``personal_data``).

The inbound log: messages tied to one of the person's requests and, for a
search by phone, every message from that number (a text that made no request,
a reply the storm guard held back). What was sent is the core's (the outbox).
"""

from __future__ import annotations

import sqlite_utils

from gateway.i18n import N_
from gateway.privacy.access import Column, Section, Subject


def received(db: sqlite_utils.Database, subject: Subject) -> Section:
    section = Section("sms_received", N_("SMS received"), (
        Column("received_at", N_("Received"), "when"), Column("phone", N_("From")), Column("kind", N_("Kind")),
        Column("reply", N_("Reply"))))
    where, params = subject.where("phone")
    if where:
        section.rows = list(db.query(
            "SELECT received_at, phone, kind, reply, request_id FROM sms_inbound "
            f"WHERE {where} ORDER BY received_at", params))
    return section


def personal_data(db: sqlite_utils.Database, subject: Subject) -> list[Section]:
    return [received(db, subject)]
