"""The SMS channel's part of the right-of-access report (hook ``personal_data``).

Messages tied to one of the person's requests, and, for a search by phone,
every message to or from that number (a text that made no request, a reply
the storm guard held back).
"""

from __future__ import annotations

import sqlite_utils

from gateway.i18n import N_
from gateway.privacy.access import Column, Section, Subject, placeholders


def _where(subject: Subject, phone_column: str) -> tuple[str, list[str]]:
    clauses, params = [], []
    if subject.request_ids:
        clauses.append(f"request_id IN ({placeholders(subject.request_ids)})")
        params.extend(subject.request_ids)
    if subject.phone:
        clauses.append(f"{phone_column} = ?")
        params.append(subject.phone)
    return " OR ".join(clauses), params


def sent(db: sqlite_utils.Database, subject: Subject) -> Section:
    section = Section("sms_sent", N_("SMS sent"), (
        Column("created_at", N_("Created"), "when"), Column("to", N_("To")), Column("status", N_("Status")),
        Column("body", N_("Text"))))
    where, params = _where(subject, '"to"')
    if where:
        section.rows = list(db.query(
            f'SELECT id, created_at, "to", kind, status, body, request_id FROM outbound WHERE {where} ORDER BY id',
            params))
    return section


def received(db: sqlite_utils.Database, subject: Subject) -> Section:
    section = Section("sms_received", N_("SMS received"), (
        Column("received_at", N_("Received"), "when"), Column("phone", N_("From")), Column("kind", N_("Kind")),
        Column("reply", N_("Reply"))))
    where, params = _where(subject, "phone")
    if where:
        section.rows = list(db.query(
            "SELECT received_at, phone, kind, reply, request_id FROM sms_inbound "
            f"WHERE {where} ORDER BY received_at", params))
    return section


def personal_data(db: sqlite_utils.Database, subject: Subject) -> list[Section]:
    return [sent(db, subject), received(db, subject)]
