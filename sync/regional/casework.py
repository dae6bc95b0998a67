"""A case worker's change on the regional server: the node's rules, checked where it is typed.

The regional server uses the node's transitions table
(``gateway.cases.transitions``: a closed case reopens only when asked, and
the event says it was a reopen) and the node's rule for a note's length
(``gateway.outbox.notices.check_note``: the citizen's SMS, note included, at
most 3 segments, counted in the worst shipped language). Checking here, in
the CLI and the web view, lets the case worker shorten the note; the SMS is
sent by the node when it pulls the change, never cut.
"""

from __future__ import annotations

import uuid
from typing import Any

from gateway.cases import transitions
from gateway.cases.actions import is_for_citizen
from gateway.cases.records import can_move
from gateway.errors import StatusError
from gateway.intake.catalog import Catalog
from gateway.outbox import notices
from gateway.outbox.segments import Segments
from sync.errors import MoveRefused

NOT_APPLIED, APPLIED_MOVE, APPLIED_NOTE = 0, 1, 2  # events.applied


def node_event_applies(current: str, e: dict[str, Any]) -> tuple[int, bool]:
    """(events.applied, reopen) for a node's event on a case now at ``current``.

    Concurrent moves merge by rank (the furthest wins); a node's explicit
    reopen (closed -> in_progress, audited there) reopens a closed case here too.
    """
    if e["status"] == e["before"]:
        return APPLIED_NOTE, False  # a note: history only, never moves the case
    if current == "closed" and transitions.is_reopen(e["before"] or "", e["status"]):
        return APPLIED_MOVE, True
    if e["status"] == current or can_move(current, e["status"]):
        return APPLIED_MOVE, False
    return NOT_APPLIED, False  # the regional server already moved past it


def case_event(current: str, node_id: str, request_id: str, status: str, *, actor: str, note: str | None,
               internal: bool, reopen: bool, now: str) -> dict[str, Any]:
    """The event row for a case worker's change, or MoveRefused saying why the table refuses it.

    One table with the node (``gateway.cases.transitions``): a closed case
    moves back only with ``reopen``, recorded on the event. A rejection's
    reason always reaches the citizen, so it is never internal.
    """
    note = (note or "").strip() or None
    try:
        kind = transitions.check(current, status, note=bool(note), reopen=reopen)
    except StatusError as exc:
        raise MoveRefused(str(exc)) from None
    internal = bool(note) and internal and not (status == "rejected" and current != "rejected")
    return {"id": str(uuid.uuid4()), "request_id": request_id, "node_id": node_id, "status": status,
            "actor": actor, "at": now, "note": note, "origin": "regional", "received_at": now, "applied": 1,
            "internal": int(internal), "reopen": int(kind == transitions.REOPENED)}


def check(catalog: Catalog | None, request: dict[str, Any], status: str, *, note: str | None,
          internal: bool = False, reopen: bool = False) -> Segments | None:
    """Refuse what the table refuses (StatusError) or a note too long for the SMS (NoteTooLong).

    ``request`` has ``status``, ``service`` and ``tracking_code``. Returns the
    SMS's count when the note reaches the citizen (None otherwise).
    """
    note = (note or "").strip() or None
    transitions.check(request["status"], status, note=bool(note), reopen=reopen)
    if catalog is None or not is_for_citizen(status, request["status"], note, internal):
        return None
    return notices.check_note(catalog, request, status, note)
