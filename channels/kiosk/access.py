"""Right of access (UU 27/2022): everything the node holds about one person.

Reads only: the view validates the NIK or phone, brings the blind index up
to date (``lookup.catch_up``), calls :func:`gather`, renders the result and
records the access in the audit log. Candidates come only from the blind
index (personal values are sealed; the database cannot be searched for
them); a NIK candidate is then confirmed against the opened fields the
catalog types ``nik`` (a birth registration holds the mother's NIK in
``mother_nik``), so another 16-digit value (a family card number) does not
count. SMS logs, the stored language and feedback follow from the matched
requests and the phone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlite_utils

from channels.web.feedback import opened_comment
from gateway.cases import records as cases
from gateway.intake.catalog import Catalog
from gateway.privacy import lookup, vault
from gateway.privacy.vault import RequestOpener


@dataclass
class Report:
    by: str  # "nik" or "phone"
    requests: list[dict] = field(default_factory=list)  # each with "history" and "feedback"
    outbound: list[dict] = field(default_factory=list)
    inbound: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)


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


def _placeholders(values: list) -> str:
    return ",".join("?" * len(values))


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
        feedback = db.execute("SELECT rating, comment, locale, created_at, comment_sealed FROM feedback "
                              "WHERE request_id = ?", [request_id]).fetchone()
        row["feedback"] = None
        if feedback:
            row["feedback"] = dict(zip(("rating", "comment", "locale", "created_at"), feedback[:4], strict=True))
            row["feedback"]["comment"] = opened_comment(opener, request_id, feedback[4], feedback[1])
        report.requests.append(row)
    ids = [request_id for _seq, request_id in sorted(ids)]
    phones = sorted({r["phone"] for r in report.requests if r.get("phone")} | ({phone} if phone else set()))
    where_out, where_in, params = [], [], []
    if ids:
        where_out.append(f"request_id IN ({_placeholders(ids)})")
        where_in.append(f"request_id IN ({_placeholders(ids)})")
    if phone:
        where_out.append('"to" = ?')
        where_in.append("phone = ?")
    params = [*ids, *([phone] if phone else [])]
    if where_out:
        report.outbound = list(db.query(
            'SELECT id, created_at, "to", kind, status, body, request_id FROM outbound '
            f"WHERE {' OR '.join(where_out)} ORDER BY id", params))
        report.inbound = list(db.query(
            "SELECT received_at, phone, kind, reply, request_id FROM sms_inbound "
            f"WHERE {' OR '.join(where_in)} ORDER BY received_at", params))
    if phones:
        report.contacts = list(db.query(
            f"SELECT phone, locale, updated_at FROM contacts WHERE phone IN ({_placeholders(phones)}) "
            "ORDER BY phone", phones))
    return report
