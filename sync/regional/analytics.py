"""District analytics: tallies kept at ingest, read back as small aggregates.

Pages must not recount a million requests per view, so every fact a chart
needs is counted once, in the transaction that learns it, into ``tallies``
(node, month, service, channel, metric, key) -> n, twice: under the node and
under ``ALL`` (the district), so a district page reads a few hundred rows.
The month is the request's creation month in ``[regional] timezone``.

Metrics (key in brackets):
- ``requests`` (""): a request arrived;
- ``complaint`` (category or "unknown"): it is of a service with a ``category``
  choice field (the demo catalog's ADUAN); nodes with an older catalog: unknown;
- ``ready_h`` (hour bucket upper edge, see BUCKETS) and ``past_due``
  ("yes"/"no"/"unknown" when the service has no ``processing_days``): the first
  time it became ready, from its creation;
- ``rejected`` (reason category or "unknown"): the first time it was rejected;
- ``rating`` ("1".."5"): the citizen's satisfaction rating (rating only).
Median and 90th percentile come from the hour buckets (an upper bound, within
one bucket). Tallies are upserted in sorted key order so concurrent pushes
never deadlock on the district rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from gateway import clock
from sync.errors import ProtocolError
from sync.protocol import wire
from sync.regional.dbapi import Db

ALL = "*"  # the district row's node id
BUCKETS = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 240, 336, 504, 720, 1440, 100_000)  # hours
RATINGS = ("1", "2", "3", "4", "5")
UNKNOWN = "unknown"
SMALL = 5  # public cells counting fewer are shown as "<5"


@dataclass(frozen=True)
class ServiceFacts:
    processing_days: float | None = None
    categories: tuple[str, ...] | None = None  # choice codes of its `category` field, if it has one
    reject_reasons: tuple[str, ...] = ()


@dataclass
class Analytics:
    """What the tallies need from the catalog and the config."""

    services: dict[str, ServiceFacts] = field(default_factory=dict)
    timezone: str = "Asia/Jakarta"

    @classmethod
    def from_catalog(cls, catalog: Any, timezone: str) -> Analytics:
        services = {}
        for s in getattr(catalog, "services", ()):
            cat = next((f for f in s.fields if f.name == "category" and f.type == "choice"), None)
            services[s.code] = ServiceFacts(s.processing_days,
                                            tuple(o.code for o in cat.options) if cat is not None else None,
                                            tuple(r.code for r in s.reject_reasons))
        return cls(services, timezone)

    def month(self, iso: str) -> str:
        try:
            return clock.parse(iso).astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m")
        except (ValueError, KeyError):
            return iso[:7]


def bucket(hours: float) -> str:
    return str(next(b for b in BUCKETS if hours <= b))


def _upsert(db: Db, rows: Iterable[tuple[str, str, str, str, str, str]]) -> None:
    counts: dict[tuple[str, ...], int] = {}
    for node_id, month, service, channel, metric, key in rows:
        for who in (node_id, ALL):
            k = (who, month, service, channel, metric, key)
            counts[k] = counts.get(k, 0) + 1
    db.executemany("INSERT INTO tallies (node_id, month, service, channel, metric, key, n) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node_id, month, service, channel, metric, key) "
                   "DO UPDATE SET n = tallies.n + excluded.n",
                   [(*k, n) for k, n in sorted(counts.items())])


def check_categories(facts: Analytics, requests: list[dict[str, Any]]) -> None:
    """Refuse a batch (ProtocolError, before any write) whose ``category`` on a service with a
    category choice is not a code at all; a well-formed code the catalog lacks counts "unknown"
    (a node on an older catalog), a missing one too (a node from before categories)."""
    for r in requests:
        service = facts.services.get(r["service"])
        value = r["fields"].get("category")
        if service is not None and service.categories is not None and value is not None \
                and not wire.is_code(value):
            raise ProtocolError(f"a category must be a printable code of at most {wire.CODE_MAX} characters")


def on_new_requests(db: Db, facts: Analytics, node_id: str, rows: list[dict[str, Any]]) -> None:
    """Tally requests stored for the first time (``rows``: service, channel, created_at, fields JSON)."""
    import json

    out = []
    for r in rows:
        month = facts.month(r["created_at"])
        out.append((node_id, month, r["service"], r["channel"], "requests", ""))
        service = facts.services.get(r["service"])
        if service is not None and service.categories is not None:
            value = json.loads(r["fields"]).get("category")
            out.append((node_id, month, r["service"], r["channel"], "complaint",
                        value if value in service.categories else UNKNOWN))
    _upsert(db, out)


def on_status(db: Db, facts: Analytics, node_id: str, request_id: str, status: str, at: str,
              reason: str | None = None) -> None:
    """A status the request reached: ready and rejected are tallied the first time only."""
    if status not in ("ready", "rejected"):
        return
    column = "ready_at" if status == "ready" else "rejected_at"
    row = db.execute(f"UPDATE requests SET {column} = ?, reject_reason = COALESCE(reject_reason, ?) "
                     f"WHERE node_id = ? AND id = ? AND {column} IS NULL RETURNING service, channel, created_at",
                     [at, reason if status == "rejected" else None, node_id, request_id]).fetchone()
    if row is None:
        return
    service, channel, created = row
    month = facts.month(created)
    if status == "rejected":
        known = facts.services.get(service, ServiceFacts()).reject_reasons
        _upsert(db, [(node_id, month, service, channel, "rejected", reason if reason in known else UNKNOWN)])
        return
    try:
        hours = max(0.0, (clock.parse(at) - clock.parse(created)).total_seconds() / 3600)
    except ValueError:
        return
    days = facts.services.get(service, ServiceFacts()).processing_days
    due = UNKNOWN if days is None else ("yes" if hours > days * 24 else "no")
    _upsert(db, [(node_id, month, service, channel, "ready_h", bucket(hours)),
                 (node_id, month, service, channel, "past_due", due)])


def on_rating(db: Db, facts: Analytics, node_id: str, request_id: str, rating: Any) -> None:
    """The citizen's rating (1..5) for a request, counted once; anything else is ignored."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        return
    row = db.execute("UPDATE requests SET rating = ? WHERE node_id = ? AND id = ? AND rating IS NULL "
                     "RETURNING service, channel, created_at", [rating, node_id, request_id]).fetchone()
    if row is not None:
        _upsert(db, [(node_id, facts.month(row[2]), row[0], row[1], "rating", str(rating))])


# --- reading ------------------------------------------------------------------
DIMS = ("month", "service", "channel")


@dataclass
class Summary:
    """Aggregates for one view: counts by (dimension value, metric, key).

    A page asks ~50 totals of a few thousand tally rows; each used to rescan
    them all (a tenth of the /analytics time at 1,000 nodes). One pass now
    sums every (metric, key or any, one dimension or none) the pages ask for.
    """

    months: list[str]
    rows: list[dict[str, Any]]
    _sums: dict[tuple[str, str | None, str | None, str | None], int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sums: dict[tuple[str, str | None, str | None, str | None], int] = {}
        for r in self.rows:
            metric, n = r["metric"], r["n"]
            for key in (r["key"], None):
                for dim in (None, *DIMS):
                    k = (metric, key, dim, r[dim] if dim else None)
                    sums[k] = sums.get(k, 0) + n
        self._sums = sums

    def total(self, metric: str, key: str | None = None, **where: str) -> int:
        if not where:
            return self._sums.get((metric, key, None, None), 0)
        if len(where) == 1 and next(iter(where)) in DIMS:
            ((dim, value),) = where.items()
            return self._sums.get((metric, key, dim, value), 0)
        return sum(r["n"] for r in self.rows if r["metric"] == metric and (key is None or r["key"] == key)
                   and all(r[k] == v for k, v in where.items()))

    def values(self, dim: str) -> list[str]:
        return sorted({r[dim] for r in self.rows})

    def keys(self, metric: str) -> list[str]:
        return sorted(k[1] for k in self._sums if k[0] == metric and k[1] is not None and k[2] is None)

    def percentile(self, q: float, **where: str) -> int | None:
        """Upper edge (hours) of the bucket holding the q-quantile of time to ready, or None."""
        counts = {int(key): self.total("ready_h", key, **where) for key in self.keys("ready_h")}
        total = sum(counts.values())
        if not total:
            return None
        seen = 0
        for edge in sorted(counts):
            seen += counts[edge]
            if seen >= q * total:
                return edge
        return None


def last_months(n: int, timezone: str, today: dt.datetime | None = None) -> list[str]:
    moment = (today or clock.now()).astimezone(ZoneInfo(timezone))
    year, month = moment.year, moment.month
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def summary(db: Db, months: list[str], node_id: str | None = None, service: str | None = None,
            channel: str | None = None) -> Summary:
    sql = ("SELECT month, service, channel, metric, key, n FROM tallies WHERE node_id = ? "
           "AND month >= ? AND month <= ?")
    args: list[Any] = [node_id or ALL, months[0], months[-1]]
    for column, value in (("service", service), ("channel", channel)):
        if value:
            sql += f" AND {column} = ?"
            args.append(value)
    return Summary(months, db.query(sql, args))
