"""What this node reports about itself with every push (see ``sync.protocol.health``).

Read fresh at each push, so the last push of a pass (the audit stage) reports
the queue as it is after the pass.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from typing import Any

from gateway import clock
from gateway.cases.records import queue_stats
from gateway.inbox import threads
from gateway.intake import guard
from gateway.node import Node
from gateway.privacy import audit


def version() -> str:
    try:
        return metadata.version("simpul")
    except metadata.PackageNotFoundError:
        return "unknown"


def report(node: Node) -> dict[str, Any]:
    db = node.store.read()
    stats = queue_stats(db)
    try:
        free = shutil.disk_usage(node.config.data_dir).free // (1024 * 1024)
    except OSError:
        free = None
    seq, head = audit.head(db)
    age = stats["oldest_unsynced_age_s"]
    return {"queue_depth": int(stats["queue_depth"]),
            "oldest_unsynced_age_s": int(age) if age is not None else None,
            "version": version(), "clock": clock.utcnow(), "disk_free_mb": free, "audit_head": [seq, head],
            # Only the count: the questions themselves never leave the node.
            "open_threads": threads.open_threads(db),
            # The published catalog this node refused (it would unseal a field), until a later one is taken.
            "catalog_refused": guard.last_refusal(db)}
