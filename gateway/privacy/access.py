"""Right of access (UU 27/2022): everything the node holds about one person.

Reads only: the kiosk's view validates the NIK or phone, brings the blind
index up to date (``lookup.catch_up``), calls :func:`gather`, renders the
result and records the access in the audit log. Candidates come only from the
blind index (personal values are sealed; the database cannot be searched for
them); a NIK candidate is then confirmed against the opened fields the
catalog types ``nik`` (a birth registration holds the mother's NIK in
``mother_nik``), so another 16-digit value (a family card number) does not
count.

The core reports the requests, their history, the SMS it queued, the
inbox's questions and answers and the stored language (for every phone on them); each
part reports what its own tables hold through its ``personal_data(db,
subject)`` hook, returning a :class:`Section` (or a list of them, or None),
so no package reads another's tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from gateway import parts
from gateway.cases import records as cases
from gateway.i18n import N_
from gateway.inbox import threads as inbox
from gateway.intake.catalog import Catalog
from gateway.privacy import lookup, vault
from gateway.privacy.vault import RequestOpener


@dataclass(frozen=True)
class Subject:
    """The person a report is about, as a part's ``personal_data`` hook sees them."""

    by: str  # "nik" or "phone"
    request_ids: tuple[str, ...]  # their requests, oldest first
    phone: str | None  # the phone asked for (None for a NIK search): messages not tied to a request
    opener: RequestOpener  # the session's node keys: opens sealed values for the report

    def where(self, phone_column: str) -> tuple[str, list[str]]:
        """SQL condition and parameters for rows of theirs: tied to one of their requests or, for a
        search by phone, to that number. ("", []) when nothing can match."""
        clauses, params = [], []
        if self.request_ids:
            clauses.append(f"request_id IN ({placeholders(self.request_ids)})")
            params.extend(self.request_ids)
        if self.phone:
            clauses.append(f"{phone_column} = ?")
            params.append(self.phone)
        return " OR ".join(clauses), params


@dataclass(frozen=True)
class Column:
    key: str  # the row's key
    label: str  # msgid (mark with N_), translated when rendered
    kind: str = "text"  # "when": a UTC ISO-8601 timestamp shown in the node's zone


@dataclass
class Section:
    id: str  # stable name ("sms_inbound"), for tests and page anchors
    title: str  # msgid (mark with N_)
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    by: str  # "nik" or "phone"
    requests: list[dict] = field(default_factory=list)  # each with "history"
    sections: list[Section] = field(default_factory=list)  # the parts' sections, in part order
    contacts: list[dict] = field(default_factory=list)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


def placeholders(values: list | tuple) -> str:
    """``?,?,?`` for an ``IN (...)`` over ``values``."""
    return ",".join("?" * len(values))


def _typed_fields(catalog: Catalog, service_code: str, kind: str) -> set[str] | None:
    """Names of the fields of ``kind`` in a service; None if the catalog lost the service."""
    service = catalog.service(service_code)
    if service is None:
        return None
    return {f.name for f in service.fields if f.type == kind}


def _matches(catalog: Catalog, row: dict, kind: str, value: str) -> bool:
    fields = json.loads(row["fields"]) if isinstance(row["fields"], str) else (row["fields"] or {})
    names = _typed_fields(catalog, row["service"], kind)
    if names is None:  # a service no longer in the catalog: any field holding the value counts
        names = set(fields)
    return any(str(fields.get(name, "")) == value for name in names)


def sent_sms(db: sqlite_utils.Database, subject: Subject) -> Section:
    """The core's own section: the outbound SMS queue (``gateway.outbox``)."""
    section = Section("sms_sent", N_("SMS sent"), (
        Column("created_at", N_("Created"), "when"), Column("to", N_("To")), Column("status", N_("Status")),
        Column("body", N_("Text"))))
    where, params = subject.where('"to"')
    if where:
        section.rows = list(db.query(
            f'SELECT id, created_at, "to", kind, status, body, request_id FROM outbound WHERE {where} ORDER BY id',
            params))
    return section


def inbox_messages(db: sqlite_utils.Database, phones: list[str], opener: RequestOpener) -> Section:
    """The core's inbox (``gateway.inbox``): questions from and answers to the person's phones, opened."""
    section = Section("inbox", N_("Questions and answers"), (
        Column("at", N_("Created"), "when"), Column("phone", N_("Phone")), Column("direction", N_("Kind")),
        Column("text", N_("Text"))))
    if phones:
        for row in db.query(f"SELECT * FROM inbox WHERE phone IN ({placeholders(phones)}) ORDER BY id", phones):
            section.rows.append({"at": row["at"], "phone": row["phone"], "direction": row["direction"],
                                 "kind": row["kind"], "text": inbox.opened_text(opener, row)})
    return section


def _sections(results: list[Any]) -> list[Section]:
    found: list[Section] = []
    for result in results:
        if result is None:
            continue
        found.extend(result if isinstance(result, list | tuple) else [result])
    return found


def gather(db: sqlite_utils.Database, catalog: Catalog, opener: RequestOpener, *, nik: str | None = None,
           phone: str | None = None) -> Report:
    """Everything held about the person with this (normalized) NIK or E.164 phone.

    ``opener``: made from the session's node keys; they make the index tokens
    and open the fields and notes shown.
    """
    if (nik is None) == (phone is None):
        raise ValueError("give exactly one of nik or phone")
    kind, value = (lookup.NIK, nik) if nik is not None else (lookup.PHONE, phone)
    candidates = set(lookup.find(db, opener.node_keys, kind, value))
    ids = []
    for row in (cases.get(db, request_id) for request_id in candidates):
        if row is None:
            continue
        if kind == lookup.PHONE and row.get("phone") == value:
            ids.append((row["seq"], row["id"]))
            continue
        fields, _opened = vault.fields_for_view(opener, row)
        if _matches(catalog, {"service": row["service"], "fields": fields}, kind, value):
            ids.append((row["seq"], row["id"]))
    report = Report(by=kind)
    for _seq, request_id in sorted(ids):
        row = dict(cases.get(db, request_id))
        row["fields"], row["opened"] = vault.fields_for_view(opener, row, catalog.service(row["service"]))
        row.pop("sealed", None)
        row.pop("sealed_regional", None)
        row["history"] = cases.history(db, request_id, opener)
        report.requests.append(row)
    phones = sorted({r["phone"] for r in report.requests if r.get("phone")} | ({phone} if phone else set()))
    subject = Subject(by=kind, request_ids=tuple(r["id"] for r in report.requests), phone=phone, opener=opener)
    report.sections = [sent_sms(db, subject), inbox_messages(db, phones, opener), *_sections(parts.call("personal_data", db, subject))]
    if phones:
        report.contacts = list(db.query(
            f"SELECT phone, locale, updated_at FROM contacts WHERE phone IN ({placeholders(phones)}) "
            "ORDER BY phone", phones))
    return report

