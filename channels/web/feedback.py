"""Citizen feedback on a closed request: one rating (1-5) and comment per request."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from gateway import clock
from gateway.i18n import Message

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


def save(db: sqlite_utils.Database, request_id: str, rating: int, comment: str, locale: str) -> bool:
    """Store once (inside a write job); False when this request already has feedback."""
    cursor = db.execute(
        "INSERT INTO feedback (request_id, rating, comment, locale, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (request_id) DO NOTHING",
        [request_id, rating, comment, locale, clock.utcnow()],
    )
    return cursor.rowcount == 1


def get(db: sqlite_utils.Database, request_id: str) -> dict[str, Any] | None:
    return next(iter(db.query("SELECT rating, comment, created_at FROM feedback WHERE request_id = ?",
                              [request_id])), None)
