"""The node's side of sneakernet: ``simpul sync export DIR`` and ``simpul sync import DIR``.

For a village with no link for weeks, a volunteer carries a USB stick to the
district office and back. Both commands reuse the stages of an HTTP pass
(:mod:`sync.client.stages`), so a stick gives exactly the HTTP result:

- ``export`` writes the batches the next pass would push (requests, then
  events, then the audit trail, each with the health report), as signed,
  encrypted files (:mod:`sync.protocol.parcel`). It marks nothing: a file is
  not a confirmation. Until the way back says what the regional server holds,
  every export carries every unconfirmed record again (a lost stick loses
  nothing; a record the server has is a no-op there).
- ``import`` takes the files ``regional export-for`` wrote: the server's acks
  (records marked synced as an HTTP ack would), then the updates through the
  pull stage itself (the citizen's SMS queued as a pull does, the cursor moved
  in the same write), then the catalog through the catalog stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from gateway import clock
from gateway.i18n import Message
from gateway.intake.catalog import CATALOG_FORMAT
from gateway.node import Node
from gateway.storage.files import write_private_bytes
from sync.client import stages, state
from sync.client.batching import MAXIMUM, BatchSizer
from sync.client.stages import PassContext, Status
from sync.client.transport import load_secret
from sync.errors import NotConfigured, SyncError
from sync.protocol import parcel, wire
from sync.protocol.parcel import UP, ParcelError

FILE_BATCH = 2000  # records a file: no link to fit, but a damaged file should not hold a month


@dataclass
class ExportResult:
    files: list[Path]
    moved: dict[str, int]
    awaiting_seal: int


def check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise ParcelError(Message("%(dir)s is not a folder: plug in the stick and give the folder on it",
                                  dir=str(folder)))


def _node_id(node: Node) -> str:
    node_id = str(node.config["node.id"])
    if not node_id:
        raise NotConfigured("node.id is empty")
    return node_id


def export(node: Node, folder: Path, progress: Callable[[str, int], None] | None = None,
           planned: Callable[[int], None] | None = None) -> ExportResult:
    """Write every batch not yet confirmed by the regional server into ``folder`` (one export).

    ``planned(records)`` is called once the batches are cut, then
    ``progress("export", records)`` after each file is written, so a volunteer
    copying weeks of backlog onto a slow stick sees it move.
    """
    check_folder(folder)
    node_id, secret = _node_id(node), load_secret(node.config)
    ctx = PassContext(node=node, transport=None, batch=BatchSizer(FILE_BATCH))  # type: ignore[arg-type]
    parts: list[tuple[str, dict[str, Any], int]] = []
    db = node.store.read()
    after = last_request = state.get(db, "requests_hwm")
    while not ctx.awaiting_seal:
        seqs, payload = stages.request_batch(ctx, after)
        if payload is None:
            break
        parts.append(("requests", stages.with_health(node, payload), len(seqs)))
        ctx.moved["requests"] += len(seqs)
        after = last_request = seqs[-1]
    after = 0
    while True:
        seqs, payload, held = stages.event_batch(ctx, after, last_request)
        if payload is None:
            break
        parts.append(("events", stages.with_health(node, payload), len(seqs)))
        ctx.moved["events"] += len(seqs)
        after = seqs[-1]
        if held:
            break
    after = state.get(db, "audit_hwm")
    while True:
        rows, head, payload = stages.audit_batch(node.store.read(), after, ctx.batch.size)
        parts.append(("audit", stages.with_health(node, payload), len(rows)))
        ctx.moved["audit"] += len(rows)
        if len(rows) < ctx.batch.size:
            break
        after = head[0]
    manifest = {"cursor": state.get(db, "pull_cursor"), "catalog_version": node.catalog.version,
                "catalog_format": CATALOG_FORMAT}
    if planned is not None:
        planned(sum(records for _kind, _payload, records in parts))
    seq = node.store.write(_next_export)
    export_id, at, written = _uuid(), clock.utcnow(), []
    for number, (kind, payload, records) in enumerate(parts, 1):
        header, data = parcel.make(secret, node=node_id, direction=UP, kind=kind, export=export_id, seq=seq,
                                   part=number, parts=len(parts), at=at, payload=payload,
                                   extra={"manifest": manifest})
        written.append(write_private_bytes(folder / parcel.file_name(header), data))
        if progress is not None:
            progress("export", records)
    return ExportResult(written, ctx.moved, ctx.awaiting_seal)


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def _next_export(db: sqlite_utils.Database) -> int:
    seq = state.get(db, "export_seq") + 1
    state.put(db, "export_seq", seq)
    return seq


@dataclass
class ImportResult:
    moved: dict[str, int] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=lambda: {"requests": 0, "events": 0, "audit": 0})
    other_nodes: set[str] = field(default_factory=set)
    ignored: int = 0  # this node's own exports (the way there), still on the stick
    refused: list[tuple[str, Message]] = field(default_factory=list)


class FileAnswers:
    """Answers the pull and catalog stages from files instead of the network (same interface as Transport).

    Updates are applied from the node's own cursor on: rows it already has are
    skipped, and a file that starts beyond it (an earlier one is missing) is
    refused, never applied over a hole.
    """

    bytes_up = bytes_down = 0

    def __init__(self, pulls: list[tuple[int, dict[str, Any]]], catalog: dict[str, Any] | None):
        self.pulls = pulls
        self.catalog = catalog

    def call(self, path: str, payload: dict[str, Any]) -> Any:
        if path == "/catalog":
            return self.catalog or {"version": payload["version"], "toml": None}
        cursor = payload["cursor"]
        usable = [(start, a) for start, a in self.pulls if start <= cursor < a["cursor"]]
        if not usable:
            later = [start for start, a in self.pulls if start > cursor]
            if later:
                raise ParcelError(Message("an earlier file from the regional server is missing: this node has "
                                          "updates up to %(cursor)d, the files start after %(start)d",
                                          cursor=cursor, start=min(later)))
            return wire.table(wire.PULL_COLS, [], cursor=cursor, more=False)
        _start, answer = max(usable, key=lambda item: item[1]["cursor"])
        end = answer["cursor"]
        return {**answer, "rows": [r for r in answer["rows"] if r[0] > cursor], "cursor": end,
                "more": any(s <= end < a["cursor"] for s, a in self.pulls)}

    def close(self) -> None:
        pass


def _checked_pull(header: dict[str, Any], answer: Any) -> tuple[int, dict[str, Any]]:
    start = header.get("from")
    rows = wire.rows_of(answer, wire.PULL_COLS)
    if not isinstance(start, int) or not isinstance(answer.get("cursor"), int) or answer["cursor"] < start \
            or any(not isinstance(r["cursor"], int) for r in rows):
        raise ParcelError(Message("the file's content is not a list of updates"))
    return start, answer


def _checked_state(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("acks"), dict) \
            or not isinstance(payload.get("catalog"), dict) or not isinstance(payload["catalog"].get("version"), int):
        raise ParcelError(Message("the file's acknowledgements are damaged"))
    for key in ("requests", "events"):
        _ranges(payload["acks"].get(key, []))
    return payload


def _ranges(value: Any) -> list[tuple[int, int]]:
    if not isinstance(value, list) or any(not isinstance(r, list) or len(r) != 2 or
                                          not all(isinstance(x, int) for x in r) for r in value):
        raise ParcelError(Message("the file's acknowledgements are damaged"))
    return [(a, b) for a, b in value]


def _load(node: Node, folder: Path, result: ImportResult) -> list[dict[int, tuple[dict[str, Any], Any]]]:
    """The complete, sound exports for this node in ``folder``: [{part: (header, payload)}]."""
    node_id, secret = _node_id(node), load_secret(node.config)
    groups: dict[str, dict[int, tuple[str, dict[str, Any], Any]]] = {}
    for path, data in parcel.scan(folder):
        try:
            if isinstance(data, Message):
                raise ParcelError(data)
            found = parcel.read(data)
            if found.header["dir"] == UP:
                result.ignored += 1
                continue
            if found.node != node_id:
                result.other_nodes.add(found.node)
                continue
            payload = parcel.open_payload(found, secret)
            groups.setdefault(found.header["export"], {}).setdefault(
                found.header["part"], (path.name, found.header, payload))
        except ParcelError as exc:
            result.refused.append((path.name, exc.message))
    exports = []
    for parts in groups.values():
        problem = parcel.incomplete({n: h for n, (_, h, _p) in parts.items()})
        if problem is not None:
            result.refused += [(name, problem) for name, _h, _p in parts.values()]
            continue
        exports.append({n: (h, p) for n, (_name, h, p) in parts.items()})
    return exports


def import_dir(node: Node, folder: Path) -> ImportResult:
    """Apply the regional server's files for this node: acks, updates (SMS queued), catalog."""
    check_folder(folder)
    result = ImportResult()
    exports = _load(node, folder, result)
    pulls, catalogs, acks = [], [], []
    for parts in exports:
        try:
            found = [_checked_pull(h, p) if h["kind"] == "updates" else _checked_state(p)
                     for h, p in parts.values()]
        except (ParcelError, SyncError) as exc:
            message = exc.message if isinstance(exc, ParcelError) else \
                Message("the file's content is not a list of updates")
            result.refused.append((parcel.file_name(next(iter(parts.values()))[0]), message))
            continue
        for item in found:
            if isinstance(item, tuple):
                pulls.append(item)
            else:
                acks.append(item["acks"])
                catalogs.append(item["catalog"])
    result.acked = node.store.write(lambda db: apply_acks(db, acks))
    catalog = max(catalogs, key=lambda c: c["version"], default=None)
    ctx = PassContext(node=node, transport=FileAnswers(pulls, catalog),  # type: ignore[arg-type]
                      batch=BatchSizer(MAXIMUM))
    try:
        while stages.pull(ctx) == Status.PENDING:
            pass
    except ParcelError as exc:  # a hole before the files' updates: none of them applied
        result.refused.append(("", exc.message))
    stages.fetch_catalog(ctx)
    result.moved = ctx.moved
    return result


def apply_acks(db: sqlite_utils.Database, acks: list[dict[str, Any]]) -> dict[str, int]:
    """Mark what the regional server holds as synced, as an HTTP ack would (one transaction)."""
    done = {"requests": 0, "events": 0, "audit": 0}
    for ack in acks:
        for first, last in _ranges(ack.get("requests", [])):
            before = db.execute("SELECT count(*) FROM requests WHERE synced = 0").fetchone()[0]
            stages.mark_requests(db, first, last)
            done["requests"] += before - db.execute("SELECT count(*) FROM requests WHERE synced = 0").fetchone()[0]
        seqs = [s for first, last in _ranges(ack.get("events", [])) for s in range(first, last + 1)]
        fresh = [s for s in seqs if db.execute("SELECT 1 FROM status_events WHERE seq = ? AND synced = 0",
                                               [s]).fetchone()]
        stages.mark_events(db, fresh)
        done["events"] += len(fresh)
        head = ack.get("audit")
        if isinstance(head, list) and len(head) == 2 and isinstance(head[0], int):
            hwm = state.get(db, "audit_hwm")
            mine = db.execute(stages.AUDIT_ACKED_SQL, [head[0]]).fetchone()
            if head[0] > hwm and mine is not None and mine[0] == head[1]:
                state.raise_to(db, "audit_hwm", head[0])
                done["audit"] += head[0] - hwm
    return done
