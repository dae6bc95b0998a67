"""The regional server's side of sneakernet: ``regional import DIR`` and ``regional export-for NODE DIR``.

Nothing here ingests or selects records itself. A file's batch goes through
the very handlers of the HTTP API (:data:`sync.regional.api.OPS`, run in the
regional app's context), with a :class:`ParcelClaim` in place of the request
counter: the same checks, the same idempotency by UUID and event id, the same
conflicts and audit-chain judgement, one transaction per file.

An export is applied only when all its parts are here and sound (a missing,
truncated or edited part refuses the whole export before any of it is
applied), parts in the order written: requests, events, audit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from gateway import clock
from gateway.i18n import Message
from gateway.intake.catalog import CATALOG_FORMAT
from gateway.storage.files import write_private_bytes
from sync.errors import AlreadyImported, RegionalError, SyncError
from sync.protocol import parcel
from sync.protocol.parcel import DOWN, UP, Parcel, ParcelError
from sync.regional import api
from sync.regional.parcel_log import ParcelClaim


@dataclass
class Loaded:
    path: Path
    parcel: Parcel
    payload: Any


@dataclass
class ImportReport:
    applied: dict[str, int] = field(default_factory=lambda: {
        "files": 0, "requests": 0, "events": 0, "audit": 0, "conflicts": 0, "flagged": 0})
    already: int = 0  # files applied before (or duplicated on the stick)
    ignored: int = 0  # files for a node (the way back), not for this server
    refused: list[tuple[str, Message]] = field(default_factory=list)  # (file name, why)


def _seqs(message: Any) -> list[int]:
    """The node seqs a push carried (column 0 of requests and events); junk is left to the handler."""
    rows = message.get("rows") if isinstance(message, dict) else None
    if not isinstance(rows, list):
        return []
    return [r[0] for r in rows if isinstance(r, list) and r and isinstance(r[0], int)]


def _group(loaded: list[Loaded]) -> dict[tuple[str, str], dict[int, Loaded]]:
    groups: dict[tuple[str, str], dict[int, Loaded]] = {}
    for item in loaded:
        h = item.parcel.header
        groups.setdefault((h["node"], h["export"]), {}).setdefault(h["part"], item)  # a copy: the first
    return groups


def import_dir(app: Flask, folder: Path) -> ImportReport:
    """Apply every complete export from the nodes found in ``folder``; refuse the rest with a reason."""
    store = api.store_of(app)
    report = ImportReport()
    loaded = []
    for path, data in parcel.scan(folder):
        if isinstance(data, Message):
            report.refused.append((path.name, data))
            continue
        try:
            found = parcel.read(data)
            if found.header["dir"] != UP:
                report.ignored += 1
                continue
            node = store.node(found.node)
            if node is None:
                raise ParcelError(Message("node %(node)s is not registered on this server", node=found.node))
            loaded.append(Loaded(path, found, parcel.open_payload(found, node["secret"])))
        except ParcelError as exc:
            report.refused.append((path.name, exc.message))
    groups = _group(loaded)
    order = sorted(groups, key=lambda k: (k[0], next(iter(groups[k].values())).parcel.header["seq"]))
    with app.app_context():
        for key in order:
            parts = groups[key]
            problem = parcel.incomplete({n: p.parcel.header for n, p in parts.items()})
            if problem is not None:
                report.refused += [(p.path.name, problem) for p in parts.values()]
                continue
            for number in sorted(parts):
                _apply(parts[number], report)
    return report


def _apply(item: Loaded, report: ImportReport) -> None:
    h = item.parcel.header
    manifest = h.get("manifest") if isinstance(h.get("manifest"), dict) else {}
    acked = parcel.ranges(_seqs(item.payload)) if h["kind"] != "audit" else []
    claim = ParcelClaim(h["id"], UP, h["kind"], h["export"], h["seq"], acked, manifest)
    try:
        answer = api.OPS[h["kind"]](h["node"], claim, item.payload)
    except AlreadyImported:
        report.already += 1
        return
    except (SyncError, RegionalError) as exc:
        report.refused.append((item.path.name, Message("the regional server refused its content: %(reason)s",
                                                       reason=str(exc))))
        return
    report.applied["files"] += 1
    if h["kind"] == "audit":
        report.applied["audit"] += int(answer.get("new", 0))
        report.applied["flagged"] += bool(answer.get("flagged"))
    else:
        report.applied[h["kind"]] += int(answer.get("new", 0))
        report.applied["conflicts"] += int(answer.get("conflicts", 0)) + int(answer.get("code_clashes", 0))


@dataclass
class ExportForReport:
    files: list[Path]
    updates: int
    catalog_version: int | None  # a newer catalog is in the files


def acks(store: Any, node_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the node may mark as synced: the seqs its applied files carried, and the held audit head."""
    ups = [r for r in rows if r["direction"] == UP]
    return {"requests": parcel.merge_ranges([r["acked"] for r in ups if r["kind"] == "requests"]),
            "events": parcel.merge_ranges([r["acked"] for r in ups if r["kind"] == "events"]),
            "audit": list(store.audit_head(node_id))}


def export_for(app: Flask, node_id: str, folder: Path) -> ExportForReport:
    """Write what ``node_id`` would pull (updates from its last known cursor, catalog, acks) into ``folder``."""
    store = api.store_of(app)
    node = store.node(node_id)
    if node is None:
        raise ParcelError(Message("node %(node)s is not registered on this server", node=node_id))
    rows = store.parcels(node_id)
    ups = [r for r in rows if r["direction"] == UP]
    manifest = max(ups, key=lambda r: r["export_seq"])["manifest"] if ups else {}
    seq = 1 + max((r["export_seq"] for r in rows if r["direction"] == DOWN), default=0)
    export = str(uuid.uuid4())
    cursor = manifest.get("cursor", 0) if isinstance(manifest.get("cursor"), int) else 0
    have = manifest.get("catalog_version", 0)
    fmt = manifest.get("catalog_format", CATALOG_FORMAT)
    parts: list[tuple[str, str, Any, dict[str, Any]]] = []
    with app.app_context():
        while True:
            file_id = str(uuid.uuid4())
            claim = ParcelClaim(file_id, DOWN, "updates", export, seq)
            answer = api.OPS["pull"](node_id, claim, {"cursor": cursor, "limit": api.MAX_PULL})
            parts.append(("updates", file_id, answer, {"from": cursor}))
            if not answer.get("more") or answer["cursor"] == cursor:
                break
            cursor = answer["cursor"]
        file_id = str(uuid.uuid4())
        claim = ParcelClaim(file_id, DOWN, "state", export, seq)
        catalog = api.OPS["catalog"](node_id, claim, {"version": have if isinstance(have, int) else 0,
                                                      "catalog_format": fmt})
        parts.insert(0, ("state", file_id, {"catalog": catalog, "acks": acks(store, node_id, rows)}, {}))
    written, at = [], clock.utcnow()
    for number, (kind, file_id, payload, extra) in enumerate(parts, 1):
        header, data = parcel.make(node["secret"], node=node_id, direction=DOWN, kind=kind, export=export,
                                   seq=seq, part=number, parts=len(parts), at=at, payload=payload,
                                   file_id=file_id, extra=extra)
        written.append(write_private_bytes(folder / parcel.file_name(header), data))
    updates = sum(len(p[2].get("rows", [])) for p in parts if p[0] == "updates")
    return ExportForReport(written, updates, catalog["version"] if catalog.get("toml") else None)
