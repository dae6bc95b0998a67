"""Which status moves are allowed: one table for the node and the regional server.

A convention ("forward only") let a closed case with feedback slip back to
``in_progress`` unnoticed; a table makes every refused move a clear error.
Reopening a closed case is the one move back, and only when asked for
explicitly (``--reopen`` or a confirmation), so it can be audited as such.
"""

from __future__ import annotations

from gateway.errors import StatusError

STATUSES = ("received", "in_progress", "ready", "rejected", "closed")
ALLOWED: dict[str, tuple[str, ...]] = {
    "received": ("in_progress", "ready", "rejected"),  # same-day letters skip in_progress
    "in_progress": ("ready", "rejected"),
    "ready": ("closed",),
    "rejected": ("closed",),
    "closed": (),
}
REOPEN = ("closed", "in_progress")

# What a move is, for the audit log and the notification rule.
MOVE, NOTE, REOPENED = "move", "note", "reopen"


def allowed(current: str, new: str, *, reopen: bool = False) -> bool:
    return new in ALLOWED.get(current, ()) or (reopen and (current, new) == REOPEN)


def is_reopen(current: str, new: str) -> bool:
    return (current, new) == REOPEN


def next_statuses(current: str) -> tuple[str, ...]:
    """The moves an officer is offered (reopen is offered separately, with a confirmation)."""
    return ALLOWED.get(current, ())


def check(current: str, new: str, *, note: bool, reopen: bool = False) -> str:
    """Classify a wanted change, or raise StatusError saying why it is refused."""
    if new not in STATUSES:
        raise StatusError(f"unknown status {new!r} (one of: {', '.join(STATUSES)})")
    if new == current:
        if not note:
            raise StatusError(f"request is already {new}")
        return NOTE
    if is_reopen(current, new):
        if not reopen:
            raise StatusError("the request is closed: reopening it needs an explicit reopen (--reopen)")
        return REOPENED
    if not allowed(current, new):
        raise StatusError(f"cannot move from {current} to {new}")
    return MOVE
