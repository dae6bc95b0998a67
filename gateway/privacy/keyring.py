"""Node keys held in memory, per logged-in officer session.

A kiosk login opens the officer's key holder with the password they just
typed (``gateway.privacy.keys.unlock``) and puts the node keys here, under the
session's id hash; logout, expiry and a process restart drop them. Nothing in
this module ever touches the disk: after a restart, officers log in again
before personal fields can be read.
"""

from __future__ import annotations

import threading

from gateway.privacy.keys import NodeKeys


class Keyring:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, NodeKeys] = {}

    def put(self, session: str, node_keys: NodeKeys) -> None:
        with self._lock:
            self._sessions[session] = dict(node_keys)

    def get(self, session: str) -> NodeKeys | None:
        """The session's node keys; {} for a session whose officer has no grant yet, None if unknown."""
        with self._lock:
            found = self._sessions.get(session)
            return dict(found) if found is not None else None

    def drop(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)

    def keep_only(self, sessions: set[str]) -> None:
        """Forget the keys of every session not in ``sessions`` (ended or expired)."""
        with self._lock:
            for gone in set(self._sessions) - sessions:
                del self._sessions[gone]

    def any_keys(self) -> NodeKeys:
        """Every node key some live session holds (background work such as indexing)."""
        with self._lock:
            merged: NodeKeys = {}
            for held in self._sessions.values():
                merged.update(held)
            return merged

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
