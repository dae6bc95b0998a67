"""Run one sync pass: the stages in order, each operation until it completes.

The pass stops at the first error and says which stage failed and why; the
next pass resumes from the marks the last confirmed batch left behind. One
pass at a time per node in a process (the scheduler and the kiosk's "sync
now" share a lock); two processes syncing at once are still safe (the server
dedupes, event ids and the pull cursor make applying idempotent).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.cases.records import set_kv
from gateway.clock import utcnow
from gateway.node import Node
from sync.client import state
from sync.client.batching import BatchSizer
from sync.client.stages import OPERATIONS, WAITING_SQL, PassContext, Stage, Status
from sync.client.transport import Transport, check_config, load_secret
from sync.errors import AwaitingSeal, Interrupted, LocalError, SyncError, Unreachable

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def lock_for(node: Node) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(id(node), threading.Lock())


@dataclass
class PassResult:
    ok: bool
    moved: dict[str, int] = field(default_factory=dict)
    stage: str | None = None  # the stage that failed
    audit_flag: str | None = None  # the regional server refused the audit trail (problem code)
    error: SyncError | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    seconds: float = 0.0


def make_transport(node: Node) -> Transport:
    config = node.config
    check_config(config)
    store = node.store
    return Transport(config["sync.url"], config["node.id"], load_secret(config),
                     lambda at_least: store.write(lambda db: state.next_counter(db, at_least)))


def run_pass(node: Node, *, transport: Transport | None = None,
             progress: Callable[[str, int], None] | None = None) -> PassResult:
    """One full pass (push requests, push events, pull, catalog, push audit); never raises SyncError."""
    started = time.monotonic()
    try:
        transport = transport or make_transport(node)
    except SyncError as exc:
        return PassResult(ok=False, stage="config", error=exc)
    batch = BatchSizer(state.get(node.store.read(), "batch_size"))
    ctx = PassContext(node=node, transport=transport, batch=batch, progress=progress)
    result = PassResult(ok=True, moved=ctx.moved)
    stage = Stage.ORDER[0]
    try:
        for stage in Stage.ORDER:
            while OPERATIONS[stage](ctx) == Status.PENDING:
                pass
    except SyncError as exc:
        result.ok, result.stage, result.error = False, stage, exc
    except sqlite3.Error as exc:
        result.ok, result.stage, result.error = False, stage, LocalError(str(exc))
    except KeyboardInterrupt:
        result.ok, result.stage, result.error = False, stage, Interrupted("interrupted")
    if result.ok and ctx.awaiting_seal:
        # The rest of the pass ran (events, pull, catalog, audit), but requests
        # are held back: not a completed pass, and the operator must be told.
        result.ok, result.stage, result.error = False, Stage.PUSH_REQUESTS, AwaitingSeal(ctx.awaiting_seal)
    if isinstance(result.error, Unreachable):
        batch.failed()
    result.audit_flag = ctx.audit_flag
    result.bytes_up, result.bytes_down = transport.bytes_up, transport.bytes_down
    result.seconds = time.monotonic() - started
    transport.close()

    def remember(db) -> None:
        state.put(db, "batch_size", batch.size)
        if result.ok:
            set_kv(db, "last_sync_at", utcnow())

    node.store.write(remember)
    return result


def pending_counts(node: Node) -> dict[str, int]:
    db = node.store.read()
    return {
        "requests": db.execute("SELECT count(*) FROM requests WHERE synced = 0").fetchone()[0],
        "events": db.execute("SELECT count(*) FROM status_events WHERE synced = 0 AND origin = 'node'").fetchone()[0],
        "audit": db.execute("SELECT count(*) FROM audit_log WHERE seq > ?",
                            [state.get(db, "audit_hwm")]).fetchone()[0],
        # no regional copy yet: they go only once an officer's node key seals one
        "awaiting_seal": db.execute(WAITING_SQL, [state.get(db, "requests_hwm")]).fetchone()[0],
    }
