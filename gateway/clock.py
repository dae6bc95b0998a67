"""UTC ISO-8601 timestamps, the only form stored or exchanged."""

from __future__ import annotations

import datetime as dt

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utcnow() -> str:
    return now().strftime(FORMAT)


def to_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(FORMAT)


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def age_seconds(text: str | None, at: dt.datetime | None = None) -> float | None:
    if not text:
        return None
    return max(0.0, ((at or now()) - parse(text)).total_seconds())


def parse_day_or_instant(text: str, *, end_of_day: bool = False) -> str:
    """A typed ``YYYY-MM-DD`` (start or end of that UTC day) or ISO-8601 time, as stored; ValueError if neither."""
    text = text.strip()
    if len(text) == 10:
        day = dt.date.fromisoformat(text)
        moment = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min, dt.UTC)
        return to_iso(moment.replace(microsecond=0))
    moment = parse(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return to_iso(moment)
