"""The sync job inside ``simpul serve``, and the kiosk's "sync now".

While the server is reachable a pass runs every ``sync.interval_seconds``.
While it is not, the wait grows exponentially with *full jitter* (a random
wait between 0 and the current cap, the cap doubling up to ~15 minutes), so
a hundred nodes coming back after a regional outage do not all knock at the
same second, and a box on a dead link does not burn its battery and credit.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from gateway.errors import ConfigError
from gateway.i18n import Message
from gateway.node import Node
from sync.client.runner import PassResult, lock_for, run_pass
from sync.client.transport import check_config
from sync.errors import AwaitingSeal, NotConfigured

log = logging.getLogger(__name__)
JOB_ID = "simpul-sync"
BACKOFF_BASE = 30.0
BACKOFF_CAP = 900.0  # ~15 minutes


def backoff_delay(failures: int, rand: Callable[[float, float], float] = random.uniform,
                  base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Full-jitter exponential backoff: uniform in [base/2, min(cap, base * 2**(failures-1))]."""
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    return rand(min(base / 2, ceiling), ceiling)


class SyncLoop:
    """Runs passes and decides when the next one is due."""

    def __init__(self, node: Node, rand: Callable[[float, float], float] = random.uniform):
        self.node = node
        self.failures = 0
        self.rand = rand
        self.next_delay = 0.0

    def run(self) -> PassResult:
        lock = lock_for(self.node)
        with lock:
            result = run_pass(self.node)
        if result.ok or isinstance(result.error, AwaitingSeal):
            # Waiting for an officer to log in is no link trouble: keep the interval.
            self.failures = 0
            self.next_delay = float(self.node.config["sync.interval_seconds"])
        else:
            self.failures += 1
            self.next_delay = backoff_delay(self.failures, self.rand)
            log.warning("sync pass failed at %s (%s); next try in %.0f s", result.stage,
                        type(result.error).__name__, self.next_delay)
        if isinstance(result.error, AwaitingSeal):
            log.warning("%d requests wait for an officer login to be sealed for the region", result.error.waiting)
        if result.audit_flag:
            log.warning("the regional server refused this node's audit trail (%s)", result.audit_flag)
        return result

    def sleep(self) -> None:
        threading.Event().wait(self.next_delay)

    def forever(self, stop: threading.Event | None = None, first_delay: float = 2.0) -> None:
        """Pass, wait, pass... until ``stop`` is set; waits are monotonic, immune to clock steps."""
        stop = stop or threading.Event()
        if stop.wait(first_delay):
            return
        while True:
            try:
                self.run()
            except Exception:  # noqa: BLE001 - one bad pass must not end syncing for good
                log.exception("sync pass crashed")
                self.failures += 1
                self.next_delay = backoff_delay(self.failures, self.rand)
            if stop.wait(self.next_delay):
                return


def register(scheduler: BaseScheduler, app: Flask) -> None:
    """Start the sync loop when ``sync.url`` is set: a pass, then the interval or the backoff, forever.

    It runs in its own daemon thread timed by ``threading.Event.wait`` (CLOCK_MONOTONIC), not as
    an APScheduler date job: APScheduler times jobs on the wall clock, so a clock stepped back a
    day postponed the next pass by a day, and one stepped forward made the job "misfire" and
    vanish for good (docs/reliability.md, clock jumps).
    """
    from gateway.app import node_of

    node = node_of(app)
    if not node.config["sync.url"]:
        return
    try:
        check_config(node.config)
    except NotConfigured as exc:
        raise ConfigError(str(exc)) from None
    loop = SyncLoop(node)
    app.extensions["simpul_sync_loop"] = loop
    threading.Thread(target=loop.forever, name=JOB_ID, daemon=True).start()


def sync_now(app: Flask) -> dict:
    """Run one sync pass now (the kiosk's "sync now" button).

    Returns ``{"configured": bool, "ok": bool, "message": str}``; the message
    is already localized for the officer.
    """
    from gateway.app import node_of
    from sync.client.messages import audit_flag_warning, describe_error, summary

    node = node_of(app)
    locale = node.config["node.default_locale"]
    if not node.config["sync.url"]:
        return {"configured": False, "ok": False, "message": Message("Sync is not configured on this node.").render(locale)}
    lock = lock_for(node)
    if not lock.acquire(timeout=0.5):
        return {"configured": True, "ok": False, "message": Message("A sync is already running.").render(locale)}
    try:
        result = run_pass(node)
    finally:
        lock.release()
    loop = app.extensions.get("simpul_sync_loop")
    if loop is not None and result.ok:
        loop.failures = 0
    if isinstance(result.error, NotConfigured):
        return {"configured": False, "ok": False, "message": describe_error(result.error, locale)}
    message = summary(result.moved, locale) if result.ok else describe_error(result.error, locale)
    if result.audit_flag:
        message += " " + audit_flag_warning(result.audit_flag, locale)
    return {"configured": True, "ok": result.ok, "message": message}
