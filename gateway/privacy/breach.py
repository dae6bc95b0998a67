"""What a breach notice needs (UU 27/2022 Pasal 46: notice within 3 x 24 hours).

When a node's disk is stolen or an account misused, the village head has to
tell the citizens concerned and the authority what data was held, who opened
what in the window, and whether the thief can read it. ``gather`` collects
that from the store, the catalog and the audit chain without opening any
sealed value (no key is needed to write the report, and none is shown).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from gateway.i18n import N_, gettext
from gateway.intake.catalog import Catalog, Field

# Categories of personal data, from a field's type and name (the catalog has no category key).
CATEGORIES = {
    "nik": N_("NIK (national identity number)"),
    "name": N_("names"),
    "address": N_("addresses"),
    "date": N_("dates (e.g. of birth)"),
    "free_text": N_("free text typed by citizens"),
    "phone": N_("phone numbers"),
    "other": N_("other personal fields"),
    "inbox": N_("citizens' messages to the office (inbox)"),
}
# Audit actions that open or change a citizen's data.
ACCESS_ACTIONS = ("data_access", "status_change", "note", "submit")


def category(f: Field) -> str:
    if f.type in ("nik", "phone", "date"):
        return f.type
    if f.type == "text":
        if "name" in f.name:
            return "name"
        if "address" in f.name or "alamat" in f.name:
            return "address"
        return "free_text"
    return "other"


@dataclass
class Report:
    since: str
    until: str
    categories: dict[str, int] = field(default_factory=dict)  # category -> requests holding it
    requests_held: int = 0
    requests_sealed: int = 0
    clear_personal_values: int = 0  # requests with a personal value outside the sealed copies
    phones_in_clear: int = 0
    outbound_texts_in_clear: int = 0
    inbox_messages: int = 0  # questions and answers kept in the citizen inbox (texts sealed)
    inbox_texts_in_clear: int = 0  # inbox rows whose text is not sealed (none by design)
    inbox_phones_in_clear: int = 0  # distinct phones with an inbox thread
    accesses: list[dict[str, Any]] = field(default_factory=list)
    node_key_holders: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def disk_exposes(self) -> list[str]:
        """What a stolen disk gives away without an officer's password or the recovery code."""
        out = []
        if self.clear_personal_values:
            out.append("personal_fields")
        if self.inbox_texts_in_clear:
            out.append("inbox_texts")
        if self.phones_in_clear or self.inbox_phones_in_clear:
            out.append("phone_numbers")
        if self.outbound_texts_in_clear:
            out.append("unsent_sms_texts")
        return out


def gather(db: sqlite_utils.Database, catalog: Catalog, since: str, until: str) -> Report:
    report = Report(since=since, until=until)
    by_service = {s.code: s for s in catalog.services}
    counts: dict[str, int] = {}
    for service_code, fields, sealed, phone in db.execute(
            "SELECT service, fields, sealed, phone FROM requests WHERE purged_at IS NULL"):
        report.requests_held += 1
        service = by_service.get(service_code)
        held = {category(f) for f in service.fields if f.personal} if service else {"other"}
        if phone:
            held.add("phone")
            report.phones_in_clear += 1
        for name in held:
            counts[name] = counts.get(name, 0) + 1
        if sealed is not None:
            report.requests_sealed += 1
        plain = json.loads(fields or "{}")
        if service is None and plain or service is not None and service.split_personal(plain)[1]:
            report.clear_personal_values += 1
    if db["inbox"].exists():  # a citizen's question is free text and their phone a contact
        messages, unsealed, phones = db.execute(
            "SELECT count(*), count(*) - count(text_sealed), count(DISTINCT phone) FROM inbox").fetchone()
        report.inbox_messages, report.inbox_texts_in_clear, report.inbox_phones_in_clear = messages, unsealed, phones
        if messages:
            counts["inbox"] = messages
    report.categories = {k: counts[k] for k in CATEGORIES if k in counts}
    if db["outbound"].exists():
        report.outbound_texts_in_clear = db.execute(
            "SELECT count(*) FROM outbound WHERE body IS NOT NULL AND body != ''").fetchone()[0]
    marks = ",".join("?" * len(ACCESS_ACTIONS))
    codes = dict(db.execute("SELECT id, tracking_code FROM requests").fetchall())
    for seq, at, actor, action, subject, details in db.execute(
            f"SELECT seq, at, actor, action, subject, details FROM audit_log WHERE at >= ? AND at <= ? "
            f"AND action IN ({marks}) ORDER BY seq", [since, until, *ACCESS_ACTIONS]):
        info = json.loads(details or "{}")
        report.accesses.append({"seq": seq, "at": at, "actor": actor, "action": action,
                                "tracking_code": codes.get(subject), "via": info.get("via"),
                                "by": info.get("by")})
    if db["key_holders"].exists():
        report.node_key_holders = db.execute("SELECT count(*) FROM key_holders").fetchone()[0]
    return report


NOTICE_LOCALE = "id"
# The notice itself is always rendered in Indonesian (``render``): it goes to Indonesian
# authorities and citizens whatever the operator's language.
TEMPLATE = N_(
    "PERSONAL DATA PROTECTION FAILURE NOTICE (UU 27/2022 Article 46)\n"
    "To: [data subject's name / supervisory authority]\n"
    "From: %(office)s (node %(node)s)\n"
    "Date of notice: [date]  (at the latest 3 x 24 hours after the incident became known)\n"
    "1. Personal data disclosed: %(categories)s\n"
    "2. When and how it was disclosed: [date/time, what happened: device stolen, unlawful access, ...]\n"
    "   Window examined: %(since)s to %(until)s; recorded accesses: %(accesses)d.\n"
    "3. Protection in force: %(sealing)s\n"
    "4. Handling and recovery: [e.g. officer passwords changed, node key rotated "
    "(simpul keys rotate), device reported to the police]\n"
    "5. What citizens can do: [e.g. beware of SMS or calls claiming to be from the village office]\n"
    "Contact: [name, position, phone number]"
)
SEALING_PARTIAL = N_("part of the data is stored without sealing: %(what)s")
SEALING_FULL = N_("all personal data is sealed (encrypted); without an officer's password or the "
                  "recovery code it cannot be read")
EXPOSED = {"personal_fields": N_("personal fields"), "phone_numbers": N_("phone numbers"),
           "inbox_texts": N_("citizens' messages to the office (inbox)"),
           "unsent_sms_texts": N_("SMS texts not yet sent")}


def render(report: Report, locale: str, *, office: str, node_id: str) -> str:
    """The human report in ``locale``, then the notice template, always in Indonesian."""
    _ = lambda msgid, **kw: gettext(locale, msgid, **kw)  # noqa: E731 - local shorthand
    lines = [_("Breach report for %(since)s to %(until)s", since=report.since, until=report.until), "",
             _("Personal data held (requests not yet purged: %(n)d):", n=report.requests_held)]
    for name, n in report.categories.items():
        lines.append(f"  - {_(CATEGORIES[name])}: {n}")
    lines += ["", _("Sealing: %(sealed)d of %(held)d requests have their personal fields sealed; "
                    "%(clear)d hold personal values in clear.", sealed=report.requests_sealed,
                    held=report.requests_held, clear=report.clear_personal_values),
              _("Stored in clear by design: %(phones)d sender phone numbers, %(texts)d SMS texts not yet "
                "sent or blanked.", phones=report.phones_in_clear, texts=report.outbound_texts_in_clear),
              _("Citizen inbox: %(n)d messages with their text sealed, from %(phones)d phone numbers "
                "stored in clear.", n=report.inbox_messages - report.inbox_texts_in_clear,
                phones=report.inbox_phones_in_clear),
              _("Sealed values open only with an officer's password (%(n)d key holders) or the recovery code.",
                n=report.node_key_holders), "",
              _("Accesses in the window (%(n)d):", n=len(report.accesses))]
    for a in report.accesses:
        where = " ".join(x for x in (a["via"], a["by"]) if x)
        lines.append(f"  {a['at']}  {a['actor']:<14} {a['action']:<14} {a['tracking_code'] or '-'}  {where}")
    id_ = lambda msgid, **kw: gettext(NOTICE_LOCALE, msgid, **kw)  # noqa: E731
    held = ", ".join(f"{id_(CATEGORIES[k])} ({n})" for k, n in report.categories.items()) or "-"
    if report.disk_exposes:
        sealing = id_(SEALING_PARTIAL, what=", ".join(id_(EXPOSED[x]) for x in report.disk_exposes))
    else:
        sealing = id_(SEALING_FULL)
    lines += ["", "-" * 60, id_(TEMPLATE, office=office, node=node_id, categories=held, since=report.since,
                                 until=report.until, accesses=len(report.accesses), sealing=sealing)]
    return "\n".join(lines)
