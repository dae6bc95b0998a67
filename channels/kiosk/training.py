"""Practice at the kiosk: the same pages on a throwaway database.

Officers learn the kiosk by using it, and practising on the live node makes
real requests, real SMS and real sync traffic. So an officer can start a
practice session: from then on their kiosk pages (new request, receipt,
queue, a request's page) work on a second node whose database is
``kiosk.training_path`` (default: beside the live one, ``<name>-training.db``).
That node is never synced and never counted: sync, the SMS sender, retention
and the dashboard only ever open the live node, so the SMS the training
outbox collects are never sent; a request's page shows them as they would
have gone. Login, officers, passwords and the audit of the practice itself
stay on the live node: the start and end of each practice session are live
audit entries.

The training database is wiped (closed, files deleted) when the last
officer practising ends (the button, logging out, or their kiosk session
ending), 24 hours after it was made whatever happens (the kiosk's sweep
job), and at start-up (a practice cannot outlive the process: its sessions
need a new login). The training node gets its own sealing key; its recovery
code opens it at once and the keys live only in the training node's memory.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g

from gateway import clock
from gateway.app import node_of
from gateway.config.loader import Config
from gateway.errors import ConfigError
from gateway.node import Node
from gateway.privacy import audit, keys

EXTENSION = "simpul_kiosk_training"
MAX_AGE = dt.timedelta(hours=24)
TRAINING_START = "training_start"
TRAINING_END = "training_end"
# Why a practice ended (the live audit entry's details.reason).
ENDED, LOGGED_OUT, SESSION_GONE, EXPIRED = "ended", "logout", "session_gone", "expired"
_SIDE_FILES = ("-wal", "-shm", "-journal")


def training_path(config: Any) -> Path:
    """``kiosk.training_path``, else ``<live db name>-training.db`` in the live database's folder."""
    explicit = config["kiosk.training_path"]
    if explicit:
        return Path(explicit)
    live = Path(config["storage.path"])
    return live.with_name(f"{live.stem}-training{live.suffix or '.db'}")


def training_config(config: Any) -> Config:
    """The live config pointed at the training database, with sync switched off."""
    copy = Config(config)
    copy["storage.path"] = str(training_path(config))
    copy["sync.url"] = ""
    copy["jobs.enabled"] = False
    return copy


def wipe_files(path: Path) -> bool:
    """Delete the training database and its side files; True when anything was there."""
    found = False
    for candidate in [path] + [path.with_name(path.name + suffix) for suffix in _SIDE_FILES]:
        try:
            candidate.unlink()
            found = True
        except FileNotFoundError:
            pass
    return found


class Training:
    """Who practises on this app, and the training node while anyone does."""

    def __init__(self, live: Node):
        self.live = live
        self.path = training_path(live.config)
        if self.path.resolve() == Path(live.config["storage.path"]).resolve():
            raise ConfigError("setting 'kiosk.training_path' must not be the live database (storage.path)")
        self._lock = threading.RLock()
        self._node: Node | None = None
        self._keys: Any = None
        self._made_at: dt.datetime | None = None
        self._sessions: dict[str, str] = {}  # kiosk session id_hash -> username
        wipe_files(self.path)  # a practice never outlives the process that ran it

    def practising(self, id_hash: str) -> bool:
        return id_hash in self._sessions

    def node_for(self, id_hash: str) -> Node | None:
        """The training node if this kiosk session practises, else None."""
        with self._lock:
            return self._node if id_hash in self._sessions else None

    def start(self, id_hash: str, username: str) -> Node:
        """Put this kiosk session into practice (opening a fresh training node if needed)."""
        with self._lock:
            if self._node is None:
                self._node = self._open()
            self._node.keyring.put(id_hash, self._keys)
            fresh = id_hash not in self._sessions
            self._sessions[id_hash] = username
            node = self._node
        if fresh:
            self.live.store.write(lambda db: audit.append(db, actor=username, action=TRAINING_START))
        return node

    def end(self, id_hash: str, reason: str = ENDED) -> bool:
        """Leave practice; the last one out wipes the training database. False: was not practising."""
        with self._lock:
            username = self._sessions.pop(id_hash, None)
            if username is None:
                return False
            if self._node is not None:
                self._node.keyring.drop(id_hash)
            if not self._sessions:
                self._wipe()
        self.live.store.write(lambda db: audit.append(db, actor=username, action=TRAINING_END,
                                                      details={"reason": reason}))
        return True

    def sweep(self, live_sessions: set[str], now: dt.datetime | None = None) -> None:
        """End practice of sessions that are gone; end all and wipe once the database is 24 h old."""
        now = now or clock.now()
        for id_hash in [h for h in list(self._sessions) if h not in live_sessions]:
            self.end(id_hash, SESSION_GONE)
        made = self._made_at
        if made is not None and now - made >= MAX_AGE:
            for id_hash in list(self._sessions):
                self.end(id_hash, EXPIRED)
            with self._lock:
                if self._made_at is made:
                    self._wipe()

    def _open(self) -> Node:
        wipe_files(self.path)
        node = Node(training_config(self.live.config))
        store = node.store  # provisions the training node's own key and recovery code
        self._keys = keys.recover(store.read(), node.new_recovery_code or "")
        node.new_recovery_code = None
        node.replace_catalog(self.live.catalog)  # the catalog the live node uses today
        self._made_at = clock.now()
        return node

    def _wipe(self) -> None:
        if self._node is not None:
            self._node.close()
        self._node, self._keys, self._made_at = None, None, None
        wipe_files(self.path)


def install(app: Flask) -> Training:
    training = Training(node_of(app))
    app.extensions[EXTENSION] = training
    return training


def of(app: Flask) -> Training:
    return app.extensions[EXTENSION]


def _training_node() -> Node | None:
    session = g.get("kiosk_session")
    return of(current_app).node_for(session["id_hash"]) if session is not None else None


def active() -> bool:
    """Is this request's officer practising?"""
    return _training_node() is not None


def work_node() -> Node:
    """The node the kiosk's case pages work on: the training node while practising, else the live one."""
    return _training_node() or node_of(current_app)
