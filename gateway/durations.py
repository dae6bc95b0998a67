"""Durations in words ("2 d 3 h", "5 h 10 min"), in the reader's language.

In the core because more than one part shows how long something has waited:
the kiosk's dashboard (time to ready) and the sync part's kiosk panel (the
oldest unsynced request). The caller passes its own ``render`` (the page's
``_``), so the words follow the request's locale.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.i18n import N_

DAYS, HOURS, MINUTES = N_("%(n)d d"), N_("%(n)d h"), N_("%(n)d min")
UNDER_A_MINUTE = N_("under a minute")


def duration_parts(seconds: float) -> tuple[int, int, int]:
    """(days, hours, minutes) for display."""
    minutes = int(seconds // 60)
    return minutes // 1440, (minutes % 1440) // 60, minutes % 60


def duration_text(seconds: float, render: Callable[..., str]) -> str:
    """'2 d 3 h', '5 h 10 min', '4 min' or 'under a minute'; ``render(msgid, n=...)`` translates."""
    days, hours, minutes = duration_parts(seconds)
    parts = []
    if days:
        parts.append(render(DAYS, n=days))
    if hours:
        parts.append(render(HOURS, n=hours))
    if minutes and not days:
        parts.append(render(MINUTES, n=minutes))
    return " ".join(parts) or render(UNDER_A_MINUTE)
