"""The dashboard (the sync panel is the sync part's: ``sync/panel.py``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date
from flask import current_app, render_template

from channels.kiosk import charts, stats
from channels.kiosk.blueprint import blueprint
from gateway.app import node_of
from gateway.cases import records as cases
from gateway.durations import duration_text
from gateway.web.ui import _, locale


def _node():
    return node_of(current_app)


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(_node().config["node.timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@blueprint.get("/dashboard")
def dashboard():
    figures = stats.figures(_node().store.read(), _zone())
    labels = [format_date(d, "d/M", locale=locale()) for d in figures.days]
    catalog = _node().catalog
    names = {s.code: s.text("name", locale()) for s in catalog.services}
    by_service = {names.get(code, code): counts for code, counts in figures.by_service.items()}
    status_items = [(cases.status_label(s, locale()), figures.status_counts.get(s, 0)) for s in cases.STATUSES]
    return render_template(
        "kiosk/dashboard.html", figures=figures,
        channel_chart=charts.stacked_bars(labels, figures.by_channel, _("Requests per day by channel")),
        service_chart=charts.stacked_bars(labels, by_service, _("Requests per day by service")),
        status_chart=charts.hbars(status_items, _("Requests by status")),
        median=duration_text(figures.median_to_ready_s, _) if figures.median_to_ready_s is not None else None,
    )
