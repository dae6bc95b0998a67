"""Dashboard figures: requests per day by channel and service, status counts, time to ready.

Days are the node's local days (an office's Monday, not UTC's). Village
volumes are small (hundreds a day at most), so the figures are computed in
Python from two narrow queries rather than with SQLite date arithmetic.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlite_utils

from gateway import clock


@dataclass
class Figures:
    days: list[dt.date]
    by_channel: dict[str, list[int]]  # channel -> count per day
    by_service: dict[str, list[int]]  # service -> count per day
    status_counts: dict[str, int]
    median_to_ready_s: float | None
    ready_sample: int
    total: int


def per_day(rows: list[tuple[str, str]], days: list[dt.date], zone: ZoneInfo) -> dict[str, list[int]]:
    """Pure: (created_at, key) rows -> key -> counts for each day in ``days``."""
    index = {d: i for i, d in enumerate(days)}
    out: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for created_at, key in rows:
        day = clock.parse(created_at).astimezone(zone).date()
        if day in index:
            out[key][index[day]] += 1
    return dict(sorted(out.items()))


def figures(db: sqlite_utils.Database, zone: ZoneInfo, days: int = 14, now: dt.datetime | None = None) -> Figures:
    today = (now or clock.now()).astimezone(zone).date()
    span = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    since = clock.to_iso(dt.datetime.combine(span[0], dt.time(), zone))
    rows = db.execute("SELECT created_at, channel, service FROM requests WHERE created_at >= ?", [since]).fetchall()
    statuses = Counter(dict(db.execute("SELECT status, count(*) FROM requests GROUP BY status").fetchall()))
    durations = [
        (clock.parse(ready) - clock.parse(created)).total_seconds()
        for created, ready in db.execute(
            "SELECT r.created_at, min(e.at) FROM requests r JOIN status_events e "
            "ON e.request_id = r.id AND e.status = 'ready' GROUP BY r.id").fetchall()
    ]
    return Figures(
        days=span,
        by_channel=per_day([(r[0], r[1]) for r in rows], span, zone),
        by_service=per_day([(r[0], r[2]) for r in rows], span, zone),
        status_counts=dict(statuses),
        median_to_ready_s=statistics.median(durations) if durations else None,
        ready_sample=len(durations),
        total=sum(statuses.values()),
    )
