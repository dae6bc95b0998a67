"""What the node tells its operator about a sync pass: short, localized sentences.

Shared by ``simpul sync`` and the kiosk's "sync now" (``sync.client.jobs``),
so both say the same thing about the same result.
"""

from __future__ import annotations

from gateway.i18n import Message, gettext
from sync.errors import AwaitingSeal, NotConfigured, Refused, SyncError, Unreachable
from sync.protocol.flags import PROBLEMS


def describe_error(error: SyncError | None, locale: str) -> str:
    """A short, localized reason for a pass that did not complete."""
    if isinstance(error, AwaitingSeal):
        return Message("%(n)d requests wait for an officer login to be sealed for the region",
                       n=error.waiting).render(locale)
    if isinstance(error, NotConfigured):
        return Message("sync is not configured (%(detail)s)", detail=str(error)).render(locale)
    if isinstance(error, Unreachable):
        return Message("regional server unreachable (%(detail)s)", detail=str(error)).render(locale)
    if isinstance(error, Refused):
        return Message("refused by the regional server: check node id and secret (%(detail)s)",
                       detail=str(error)).render(locale)
    return Message("the regional server did not confirm (%(detail)s)", detail=str(error)).render(locale)


def summary(moved: dict[str, int], locale: str) -> str:
    return Message("Pushed %(requests)d requests and %(events)d status events; pulled %(pulled)d "
                   "updates (%(notified)d SMS queued); catalog version %(version)d.",
                   requests=moved.get("requests", 0), events=moved.get("events", 0),
                   pulled=moved.get("pulled", 0), notified=moved.get("notified", 0),
                   version=moved.get("catalog_version", 0)).render(locale)


def audit_flag_warning(problem: str, locale: str) -> str:
    """What the node's operator reads when the regional server flagged this node's audit trail."""
    reason = gettext(locale, PROBLEMS[problem]) if problem in PROBLEMS else problem
    return Message("The regional server refused this node's audit trail and flagged the node: %(reason)s. "
                   "Requests still sync; a case worker will check the node.", reason=reason).render(locale)
