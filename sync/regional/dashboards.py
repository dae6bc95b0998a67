"""District analytics for case workers (``/analytics``) and the public transparency page (``/transparansi``).

Both read the tallies kept at ingest (:mod:`sync.regional.analytics`) from the
read replica when one is configured, and say "data as of …" from its replay
position; when the standby is down they read the primary and say so. The
public page shows no node names' personal data (there is none in tallies:
counts only) and prints any count below 5 as "<5", so a rare case in a small
village cannot be singled out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, render_template, request

from gateway.i18n import N_
from gateway.web.ui import _
from gateway.web.ui import locale as ui_locale
from sync.regional import analytics
from sync.regional.analytics import SMALL, UNKNOWN

MONTHS = 12
CHANNELS = {"sms": N_("SMS"), "ussd": N_("USSD"), "web": N_("Web"), "kiosk": N_("Kiosk")}
SOURCE_NOTES = {
    "standby_down": N_("The read replica is not answering: these figures come from the primary database."),
    "lagging": N_("The read replica is behind the primary: recent requests may be missing."),
}


@dataclass
class Bar:
    label: str
    value: int
    shown: str


def bars(pairs: list[tuple[str, int]], public: bool) -> list[Bar]:
    return [Bar(label, value, cell(value, public)) for label, value in pairs]


def cell(n: int, public: bool) -> str:
    return "<5" if public and 0 < n < SMALL else str(n)


def catalog_order(keys: list[str], options: Any) -> list[str]:
    """Keys in the catalog's option order, codes it lacks after them, "unknown" last (as people read a form)."""
    known: dict[str, int] = {}
    for o in options:
        known.setdefault(o.code, len(known))
    return sorted(keys, key=lambda k: (k == UNKNOWN, known.get(k, len(known)), k))


def _hours(h: int | None, _: Any) -> str:
    """A bucket's upper edge for people (the figure is "at most this long")."""
    if h is None:
        return "–"
    if h >= 100_000:
        return _("more than 60 days")
    if h < 48:
        return _("≤ %(n)d hours", n=h)
    return _("≤ %(n)d days", n=h // 24)


def _catalog(app: Flask) -> Any:
    """The published catalog, parsed once per published text (labels, reasons, categories)."""
    from gateway.intake.catalog import check_text

    text = app.extensions["simpul_regional_catalog"][1]
    cached = app.extensions.get("simpul_regional_catalog_parsed")
    if cached is None or cached[0] is not text:
        cached = app.extensions["simpul_regional_catalog_parsed"] = (text, check_text(text)[0])
    return cached[1]


def view_model(public: bool) -> dict[str, Any]:
    """Everything the two pages render: filters, charts, tables, data-as-of note."""
    store = current_app.extensions["simpul_regional"]
    timezone = store.analytics.timezone
    months = analytics.last_months(MONTHS, timezone)
    catalog = _catalog(current_app)
    services = {s.code: s for s in catalog.services} if catalog else {}
    node = None if public else (request.args.get("node") or None)
    service = request.args.get("service") or None
    service = service if service in services else None
    channel = request.args.get("channel") or None
    channel = channel if channel in CHANNELS else None
    (data, node_ids), as_of, source = store.on_reader(lambda db: (
        analytics.summary(db, months, node, service, channel),
        [] if public else [r["node_id"] for r in store.reader_nodes(db)]))
    locale = ui_locale()

    def service_name(code: str) -> str:
        return services[code].text("name", locale) if code in services else code

    def option_label(code: str, options: Any) -> str:
        if code == UNKNOWN:
            return _("unknown")
        found = next((o for o in options if o.code == code), None)
        return found.label.get(locale) or found.label.get("id") or code if found else code

    by_month = bars([(m, data.total("requests", month=m)) for m in months], public)
    by_channel = bars([(_(CHANNELS.get(c, c)), data.total("requests", channel=c))
                       for c in data.values("channel")], public)
    timing = []
    for code in sorted({r["service"] for r in data.rows}):
        ready = data.total("ready_h", service=code)
        late, on_time = data.total("past_due", "yes", service=code), data.total("past_due", "no", service=code)
        enough = not public or ready >= SMALL
        timing.append({
            "service": service_name(code), "requests": cell(data.total("requests", service=code), public),
            "ready": cell(ready, public),
            "median": _hours(data.percentile(0.5, service=code), _) if enough else "–",
            "p90": _hours(data.percentile(0.9, service=code), _) if enough else "–",
            "late": (f"{round(100 * late / (late + on_time))}%" if late + on_time and enough else "–"),
            "unknown": cell(data.total("past_due", UNKNOWN, service=code), public)})
    reasons = [o for s in services.values() for o in s.reject_reasons]
    rejected = bars([(option_label(k, reasons), data.total("rejected", k))
                     for k in catalog_order(data.keys("rejected"), reasons)], public)
    rated = data.total("rating")
    ratings = bars([(f"{k} ★", data.total("rating", k)) for k in analytics.RATINGS], public)
    ratings.append(Bar(_("unknown"), max(0, data.total("requests") - rated),
                       cell(max(0, data.total("requests") - rated), public)))
    categories = [o for s in services.values() for f in s.fields if f.name == "category" for o in f.options]
    complaints = bars([(option_label(k, categories), data.total("complaint", k))
                       for k in catalog_order(data.keys("complaint"), categories)], public)
    nodes = node_ids
    return {"public": public, "months": months, "by_month": by_month, "by_channel": by_channel,
            "timing": timing, "rejected": rejected, "ratings": ratings, "complaints": complaints,
            "total": cell(data.total("requests"), public), "as_of": as_of, "timezone": timezone,
            "source_note": _(SOURCE_NOTES[source]) if source in SOURCE_NOTES else None,
            "services": [(code, service_name(code)) for code in services], "service": service or "",
            "channels": [(c, _(label)) for c, label in CHANNELS.items()], "channel": channel or "",
            "nodes": nodes, "node": node or ""}


def init_app(app: Flask) -> None:
    """/analytics needs a case worker's session (sync.regional.web's guard); /transparansi is public."""

    @app.get("/analytics")
    def analytics_page():
        return render_template("regional/analytics.html", **view_model(public=False))

    @app.get("/transparansi")
    def transparency_page():
        return render_template("regional/analytics.html", **view_model(public=True))
