"""Changing a case from the node: the one path the kiosk buttons and ``simpul set-status`` share.

It refuses what the transitions table refuses, checks a note for the citizen
against the SMS limit before anything is written (so the typist can shorten
it), seals an internal note, and records the event with the citizen's SMS in
one write job (``cases.change_status`` with the node's notifier).
"""

from __future__ import annotations

from typing import Any

from gateway.cases import records, transitions
from gateway.outbox import notices
from gateway.outbox.segments import Segments


def is_for_citizen(status: str, previous: str, note: str | None, internal: bool) -> bool:
    """Whether a typed note reaches the citizen: a rejection's reason always does."""
    if not note:
        return False
    return (status == "rejected" and previous != "rejected") or not internal


def count(node: Any, request: dict[str, Any], status: str, note: str | None, internal: bool = False) -> Segments:
    """Segments of the SMS this change would send (worst shipped locale); shown while typing."""
    citizen = note if is_for_citizen(status, request["status"], note, internal) else None
    return notices.worst_count(node.catalog, request, status, citizen)


def set_status(node: Any, request: dict[str, Any], status: str, *, actor: str, note: str | None = None,
               internal: bool = False, reopen: bool = False, event_id: str | None = None,
               reason: str | None = None) -> dict[str, Any] | None:
    """Check, then record the change and queue the citizen's SMS; raises StatusError / NoteTooLong.

    ``reason``: the category of a rejection, one of the service's ``reject_reasons`` codes
    (anything else is dropped: the district counts it as "unknown")."""
    note = (note or "").strip() or None
    if event_id and records.has_event(node.store.read(), event_id):
        return None  # a double click or a resent form: already recorded
    transitions.check(request["status"], status, note=bool(note), reopen=reopen)
    for_citizen = is_for_citizen(status, request["status"], note, internal)
    if for_citizen:
        notices.check_note(node.catalog, request, status, note)
    elif note:
        node.vault.ready()  # an internal note is sealed inside the write job
    notifier = node.notifier
    service = node.catalog.service(request["service"])
    reason = service.reject_reason(status, reason) if service is not None else None
    return node.store.write(lambda db: records.change_status(
        db, request["id"], status, actor=actor, note=note, internal=not for_citizen, reopen=reopen,
        event_id=event_id, vault=node.vault, notifier=notifier, reason=reason))
