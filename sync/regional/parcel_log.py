"""The regional server's log of sneakernet files (``parcels``): what makes a file apply once.

An HTTP push is guarded by the node's request counter; a file on a USB stick
is not (it may come after later HTTP syncs, twice, or out of order). Instead
every file has its own id, recorded in the same transaction that applies it:
the store's claim step (``_claim``) takes a :class:`ParcelClaim` in place of a
counter and records the file, or raises :class:`sync.errors.AlreadyImported`.
The rows also remember what each file carried, so `simpul regional export-for`
can tell the node which of its records are held (its acks) and where its pull
cursor was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sync.errors import AlreadyImported

TABLE_SQL = """
    CREATE TABLE parcels (
        node_id TEXT NOT NULL REFERENCES nodes(id),
        id TEXT NOT NULL,
        direction TEXT NOT NULL,
        kind TEXT NOT NULL,
        export_id TEXT NOT NULL,
        export_seq INTEGER NOT NULL,
        acked TEXT NOT NULL,
        manifest TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (node_id, id)
    )"""


@dataclass(frozen=True)
class ParcelClaim:
    """Stands in for the request counter when a batch comes (or goes) as a file."""

    file_id: str
    direction: str
    kind: str
    export_id: str
    export_seq: int
    acked: list[list[int]] = field(default_factory=list)  # node seqs the file carried, as ranges
    manifest: dict[str, Any] = field(default_factory=dict)  # the node's state when it wrote the file


def record(db: Any, node_id: str, claim: ParcelClaim, now: str) -> None:
    """Record the file in the current transaction; AlreadyImported if it was, so nothing is applied twice."""
    cur = db.execute(
        "INSERT INTO parcels (node_id, id, direction, kind, export_id, export_seq, acked, manifest, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node_id, id) DO NOTHING",
        [node_id, claim.file_id, claim.direction, claim.kind, claim.export_id, claim.export_seq,
         json.dumps(claim.acked), json.dumps(claim.manifest, sort_keys=True), now])
    if cur.rowcount != 1:
        raise AlreadyImported(claim.file_id)
    db.execute("UPDATE nodes SET last_seen_at = ? WHERE id = ?", [now, node_id])


PARCELS_SQL = ("SELECT id, direction, kind, export_id, export_seq, acked, manifest, at FROM parcels "
               "WHERE node_id = ? ORDER BY export_seq, at")


def rows(db: Any, node_id: str) -> list[dict[str, Any]]:
    out = []
    for r in db.execute(PARCELS_SQL, [node_id]).fetchall():
        out.append({"id": r[0], "direction": r[1], "kind": r[2], "export_id": r[3], "export_seq": r[4],
                    "acked": json.loads(r[5]), "manifest": json.loads(r[6]), "at": r[7]})
    return out
