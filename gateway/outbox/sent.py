"""What a citizen was told about their case: every queued SMS with its state and text.

A sent body is blanked in the outbox after hand-over (docs/sms.md: it may
carry a note), so a status SMS is re-rendered from its event and the
template, in the language it went out in. The history is then complete
without the outbox keeping texts longer than it must.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from gateway.i18n import DEFAULT_LOCALE, gettext
from gateway.intake.catalog import Catalog
from gateway.outbox import notices, queue, states

STATUS_KEY = "status:"
STATUS_LABELS = states.LABELS


def status_label(status: str, locale: str) -> str:
    return gettext(locale, STATUS_LABELS[status]) if status in STATUS_LABELS else status


def for_request(db: sqlite_utils.Database, catalog: Catalog, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Oldest first: ``at``, ``status`` (queued/sent/delivered/failed...), ``kind``, ``segments``, ``text``.

    ``rerendered`` is True when the text was rebuilt because the outbox
    body was blanked; ``text`` is None when it cannot be (a blanked reply).
    """
    shown = []
    for row in queue.for_request(db, request["id"]):
        text, rerendered = row["body"] or None, False
        if text is None and row["key"].startswith(STATUS_KEY):
            event = db.execute("SELECT status, note, internal FROM status_events WHERE id = ?",
                               [row["key"][len(STATUS_KEY):]]).fetchone()
            if event is not None:
                note = None if event[2] else event[1]
                locale = row["locale"] or request.get("locale") or DEFAULT_LOCALE
                text, rerendered = notices.text_for(catalog, request, event[0], locale, note), True
        shown.append({"at": row["created_at"], "status": row["status"], "kind": row["kind"],
                      "segments": row["segments"], "text": text, "rerendered": rerendered,
                      "provider": row["provider"], "stuck": states.stuck(row),
                      "error": row["error_code"] or row["last_error"]
                      if row["status"] in ("failed", "undelivered") else None})
    return shown
