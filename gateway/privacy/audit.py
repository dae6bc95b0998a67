"""Tamper-evident audit trail: an append-only log chained by SHA-256.

Entry n stores ``hash_n = SHA256(hash_{n-1} || canonical(entry_n))``. Triggers
refuse UPDATE and DELETE, which stops accidents; against someone with the
disk, the chain is what helps: editing or dropping an entry breaks every
later hash, and the chain head sent with each sync push lets the regional
server notice a node whose history was rewritten even if the whole chain was
recomputed. Details never hold personal data (NIK, names, addresses, notes):
only ids and the kind of action.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from gateway import clock
from gateway.i18n import N_

GENESIS = "0" * 64

# Actions recorded (constants so callers and the regional check agree).
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
SUBMIT = "submit"
STATUS_CHANGE = "status_change"
NOTE = "note"
REOPEN = "reopen"
STATUS_OVERRIDE = "status_override"
CONFIG_CHANGE = "config_change"
OFFICER_ADDED = "officer_added"
OFFICER_RESET = "officer_reset"
PASSWORD_CHANGED = "password_changed"
OFFICER_ENABLED = "officer_enabled"
OFFICER_DISABLED = "officer_disabled"
DATA_ACCESS = "data_access"
# Node sealing keys (gateway/privacy/keys.py, gateway/privacy/rotation.py).
KEY_ROTATED = "key_rotated"
RECOVERY_CODE_CHANGED = "recovery_code_changed"
KEY_GRANTED = "key_granted"
KEY_REMOVED = "key_removed"
# The citizen inbox (gateway/inbox): an answer queued, a thread closed without one.
INBOX_ANSWERED = "inbox_answered"
INBOX_HANDLED = "inbox_handled"


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str | None,
               details: str) -> str:
    """The chain's one digest: the node's append/verify and the regional server's
    continuity check both call this, so the two sides can never disagree on it."""
    canonical = json.dumps([seq, at, actor, action, subject, details], ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def head(db: sqlite_utils.Database) -> tuple[int, str]:
    """(seq, hash) of the newest entry, or (0, GENESIS) for an empty log."""
    row = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


# Where a look-up of a person by NIK or phone happened (``data_access`` entries).
VIA_QUEUE_SEARCH = "queue_search"
VIA_DETAIL = "detail_view"
VIA_ACCESS_PAGE = "access_page"
VIA_INBOX_THREAD = "inbox_thread"  # the kiosk's /kiosk/inbox/<id>: one thread's texts opened
VIA_INBOX_CLI = "inbox_cli"  # `simpul inbox --officer NAME`: the listed texts opened


def record_access(db: sqlite_utils.Database, *, actor: str, via: str, by: str | None = None,
                  subject: str | None = None) -> str:
    """Audit a look-up of personal data: who, where (``via``), by what kind of key; never the value.

    ``subject`` is a request id for a detail view, never a NIK, phone or name.
    """
    details = {"via": via, **({"by": by} if by else {})}
    return append(db, actor=actor, action=DATA_ACCESS, subject=subject, details=details)


def data_access_log(db: sqlite_utils.Database, limit: int = 100) -> list[dict[str, Any]]:
    """The newest look-ups, for the admin: at, actor, via, by, subject."""
    rows = db.execute("SELECT at, actor, subject, details FROM audit_log WHERE action = ? "
                      "ORDER BY seq DESC LIMIT ?", [DATA_ACCESS, limit]).fetchall()
    out = []
    for at, actor, subject, details in rows:
        info = json.loads(details or "{}")
        out.append({"at": at, "actor": actor, "subject": subject,
                    "via": info.get("via", VIA_ACCESS_PAGE), "by": info.get("by", "")})
    return out


def append(db: sqlite_utils.Database, *, actor: str, action: str, subject: str | None = None,
           details: dict[str, Any] | None = None, at: str | None = None) -> str:
    """Append one entry inside the caller's write transaction; return its hash."""
    at = at or clock.utcnow()
    body = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    last_seq, prev = head(db)
    # seq is AUTOINCREMENT; under the write lock the next one is last_seq + 1
    # unless rows were deleted, which the triggers forbid.
    seq = last_seq + 1
    digest = entry_hash(prev, seq, at, actor, action, subject, body)
    db.execute(
        "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, action, subject, body, prev, digest],
    )
    return digest


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    head: str
    broken_at: int | None = None
    reason: str = ""  # a msgid: render with gateway.i18n.gettext


def verify(db: sqlite_utils.Database) -> Verdict:
    """Recompute the whole chain; report the first entry that does not fit."""
    prev, expected_seq, count = GENESIS, 1, 0
    for seq, at, actor, action, subject, details, prev_hash, digest in db.execute(
        "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log ORDER BY seq"
    ):
        if seq != expected_seq:
            return Verdict(False, count, prev, seq, N_("an entry before it is missing"))
        if prev_hash != prev:
            return Verdict(False, count, prev, seq, N_("it does not link to the previous entry"))
        if entry_hash(prev, seq, at, actor, action, subject, details) != digest:
            return Verdict(False, count, prev, seq, N_("its content does not match its hash"))
        prev, expected_seq, count = digest, expected_seq + 1, count + 1
    return Verdict(True, count, prev)


def config_fingerprint(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def record_config(db: sqlite_utils.Database, settings: dict[str, Any], *, actor: str = "system") -> bool:
    """Append a config_change entry when the effective config differs from the last one seen."""
    from gateway.cases.records import get_kv, set_kv

    fingerprint = config_fingerprint(settings)
    before = get_kv(db, "config_fingerprint")
    if before == fingerprint:
        return False
    previous = json.loads(get_kv(db, "config_settings", "{}") or "{}")
    changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
    append(db, actor=actor, action=CONFIG_CHANGE, details={"changed": changed if before else ["initial"]})
    set_kv(db, "config_fingerprint", fingerprint)
    set_kv(db, "config_settings", json.dumps(settings, sort_keys=True, default=str))
    return True
