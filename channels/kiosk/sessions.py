"""The kiosk's officer sessions: the web toolkit's server-side sessions on ``kiosk_sessions``.

Rules (timeouts, fresh id per login, hashed ids) are ``gateway.web.sessions``;
this module names the kiosk's cookie, table and settings. A session is only
loaded while its officer is active, so switching an officer off ends it on
the next request even before the rows are deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.storage.store import Store
from gateway.web.sessions import Sessions, SqlSessions, Timeouts

COOKIE = "simpul_kiosk"


def table(store: Store | None = None) -> SqlSessions:
    """The table; without a store only its ``*_in`` functions (inside a write job) work."""
    return SqlSessions(store, "kiosk_sessions", accounts="officers", active="a.active = 1", columns="a.role")


def timeouts(config: Mapping[str, Any]) -> Timeouts:
    return Timeouts.of(config["kiosk.idle_timeout_minutes"], config["kiosk.absolute_timeout_hours"])


def of(store: Store, config: Mapping[str, Any]) -> Sessions:
    return Sessions(table(store), timeouts(config))
