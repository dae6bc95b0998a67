"""One exception root for the sync package, so callers catch ours and only ours.

The node client turns every way a pass can fail into one of these, which is
what lets ``simpul sync --once`` exit non-zero with a clear reason and lets the
scheduler tell "server unreachable" (back off) from "refused" (back off, and
tell the officer the secret is wrong).
"""

from __future__ import annotations

from gateway.errors import SimpulError


class SyncError(SimpulError):
    """Root of every error the sync package raises on purpose."""


class NotConfigured(SyncError):
    """No regional URL or no secret: sync is off on this node."""


class Unreachable(SyncError):
    """The regional server could not be reached or the link broke mid-request."""


class Refused(SyncError):
    """The server refused the request (bad signature, unknown node, replay)."""

    def __init__(self, status: int, reason: str, last_counter: int | None = None):
        super().__init__(f"refused ({status}): {reason}")
        self.status = status
        self.reason = reason
        self.last_counter = last_counter


class ServerError(SyncError):
    """The server answered but did not confirm a durable commit (5xx, bad ack)."""


class ProtocolError(SyncError):
    """A message that does not follow docs/sync-protocol.md (either side)."""


class AwaitingSeal(SyncError):
    """Requests sealed while sync.regional_key was empty wait for an officer's session to re-seal them.

    The node cannot open them without a node key, which only a logged-in
    officer's session holds; pushing them without a regional copy would send
    records the regional server cannot read. Order by seq is kept: the push
    stops at the first one.
    """

    def __init__(self, waiting: int):
        super().__init__(f"{waiting} requests wait for an officer login to be sealed for the region")
        self.waiting = waiting


class LocalError(SyncError):
    """The node's own database refused a write (disk full, locked): nothing was marked."""


class Interrupted(SyncError):
    """The pass was stopped before it completed (Ctrl-C, shutdown)."""


class ReplayError(SyncError):
    """Server side: the request id is not newer than the last one accepted (409)."""

    def __init__(self, last_counter: int):
        super().__init__(f"request id not newer than {last_counter}")
        self.last_counter = last_counter


class RegionalError(SyncError):
    """Server side: a case-worker action that cannot be done (unknown code, bad status)."""


class AlreadyImported(RegionalError):
    """Server side: this sneakernet file was applied before (nothing is applied twice)."""

    def __init__(self, file_id: str):
        super().__init__(f"file {file_id} was imported before")
        self.file_id = file_id


class AlreadyExists(RegionalError):
    """Server side: the node or user is already registered."""


class EnrolmentRefused(RegionalError):
    """An enrolment code is unknown, used or expired (the reason is the message)."""


class MoveRefused(RegionalError):
    """A case worker's change the transitions table refuses (``gateway.cases.transitions``); says why."""
