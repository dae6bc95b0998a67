"""Citizen feedback on a closed request: one rating (1-5) and comment per request.

The comment is free text the citizen typed, so it is personal data: it is
sealed to the node key before the write (``node.vault.seal(request_id,
{"comment": text}, purpose="feedback")``) and only the sealed copy is
stored (``feedback.comment_sealed``; ``comment`` stays empty). The rating is
not personal and stays plain for the statistics. An officer sees the comment
only through a session that holds the node key (``gateway.privacy.keyring``).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlite_utils

from gateway import clock
from gateway.i18n import N_, Message
from gateway.privacy import vault
from gateway.privacy.access import Column, Section, Subject, placeholders
from gateway.privacy.sealing import SealError
from gateway.privacy.vault import RequestOpener, Vault

log = logging.getLogger(__name__)
PURPOSE = "feedback"

MAX_COMMENT = 500


def parse(rating: str | None, comment: str | None) -> tuple[int | None, str, Message | None]:
    """Pure check of a posted form: (rating, comment, problem)."""
    try:
        value = int((rating or "").strip())
    except ValueError:
        value = 0
    if not 1 <= value <= 5:
        return None, "", Message("Choose a rating from 1 to 5.")
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        return None, text, Message("The comment is too long (at most %(n)d characters).", n=MAX_COMMENT)
    return value, text, None


def seal_comment(node_vault: Vault, request_id: str, comment: str) -> bytes | None:
    """The node copy of a sealed comment (None for no comment); call before the write job."""
    if not comment:
        return None
    node_copy, _regional = node_vault.seal(request_id, {"comment": comment}, purpose=PURPOSE)
    return node_copy


def save(db: sqlite_utils.Database, request_id: str, rating: int, sealed_comment: bytes | None,
         locale: str) -> bool:
    """Store once (inside a write job); False when this request already has feedback."""
    cursor = db.execute(
        "INSERT INTO feedback (request_id, rating, comment, comment_sealed, locale, created_at) "
        "VALUES (?, ?, '', ?, ?, ?) ON CONFLICT (request_id) DO NOTHING",
        [request_id, rating, sealed_comment, locale, clock.utcnow()],
    )
    return cursor.rowcount == 1


def get(db: sqlite_utils.Database, request_id: str) -> dict[str, Any] | None:
    """Rating and date (what the citizen's track page shows); never the comment."""
    return next(iter(db.query("SELECT rating, created_at FROM feedback WHERE request_id = ?",
                              [request_id])), None)


def opened_comment(opener: RequestOpener | None, request_id: str, sealed: bytes | None, plain: str = "") -> str:
    """The comment for an officer's view: opened with the session's keys, else ``vault.SEALED``."""
    if sealed is None:
        return plain  # no comment (or a legacy row not sealed yet)
    if opener is None:
        return vault.SEALED
    try:
        return str(opener.personal(request_id, sealed, purpose=PURPOSE).get("comment", ""))
    except SealError:
        return vault.SEALED


def report(db: sqlite_utils.Database, subject: Subject) -> Section:
    """The right-of-access section: the person's ratings and opened comments."""
    section = Section("feedback", N_("Feedback"), (
        Column("request_id", N_("Request"), "request"), Column("rating", N_("Rating")),
        Column("created_at", N_("Created"), "when"), Column("comment", N_("Comment"))))
    ids = list(subject.request_ids)
    if ids:
        rows = db.execute("SELECT request_id, rating, comment, locale, created_at, comment_sealed FROM feedback "
                          f"WHERE request_id IN ({placeholders(ids)})", ids).fetchall()
        order = {request_id: i for i, request_id in enumerate(ids)}
        for request_id, rating, comment, locale, created_at, sealed in sorted(rows, key=lambda r: order[r[0]]):
            section.rows.append({"request_id": request_id, "rating": rating, "locale": locale,
                                 "created_at": created_at,
                                 "comment": opened_comment(subject.opener, request_id, sealed, comment)})
    return section


def purge_request(db: sqlite_utils.Database, request_id: str) -> None:
    """Retention: the comment is free text and goes; the rating stays for the statistics."""
    db.execute("UPDATE feedback SET comment = '', comment_sealed = NULL WHERE request_id = ?", [request_id])


def seal_legacy(store: Any, node_vault: Vault) -> int:
    """Seal comments stored in clear before ``m005_feedback_sealed``; returns how many."""
    rows = store.read().execute(
        "SELECT request_id, comment FROM feedback WHERE comment != '' AND comment_sealed IS NULL").fetchall()
    for request_id, comment in rows:
        sealed = seal_comment(node_vault, request_id, comment)
        store.write(lambda db, r=request_id, s=sealed: db.execute(
            "UPDATE feedback SET comment = '', comment_sealed = ? WHERE request_id = ?", [s, r]))
    if rows:
        log.info("feedback: sealed %d comment(s) stored before sealing", len(rows))
    return len(rows)
