"""A citizen's contact facts, by E.164 number: today only their chosen language.

The ``contacts`` table belongs to the core; channels that learn a language
(an SMS ``BAHASA`` command, a USSD language menu) record it here, and every
notification reads it here, so no package writes the table with its own SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlite_utils

from gateway import clock


def remember_locale(db: sqlite_utils.Database, phone: str, locale: str, at: str | None = None) -> None:
    """Store (or replace) the language ``phone`` chose; run inside a write job."""
    db.execute(
        "INSERT INTO contacts (phone, locale, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(phone) DO UPDATE SET locale = excluded.locale, updated_at = excluded.updated_at",
        [phone, locale, at or clock.utcnow()])


def locale_of(db: sqlite_utils.Database, phone: str | None) -> str | None:
    """The language ``phone`` chose, or None when it never chose one."""
    if not phone:
        return None
    row = db.execute("SELECT locale FROM contacts WHERE phone = ?", [phone]).fetchone()
    return row[0] if row else None


def remembering(locale: str) -> Callable[[sqlite_utils.Database, dict[str, Any]], None]:
    """An ``on_commit`` for ``Pipeline.submit``: the request's phone keeps ``locale`` as its language.

    For a channel where the citizen chose the language explicitly (the kiosk's
    language select, the portal's switch), so later SMS to them use it too.
    """
    def remember(db: sqlite_utils.Database, request: dict[str, Any]) -> None:
        if request.get("phone"):
            remember_locale(db, request["phone"], locale)

    return remember
