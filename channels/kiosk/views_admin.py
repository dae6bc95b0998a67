"""Sync panel and dashboard."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date
from flask import current_app, render_template

from channels.kiosk import charts, stats
from channels.kiosk.blueprint import blueprint
from gateway.app import node_of
from gateway.cases import records as cases
from gateway.web.ui import _, locale


def _node():
    return node_of(current_app)


def _sync_page(result: dict | None = None, status: int = 200):
    from sync.client.runner import pending_counts

    db = _node().store.read()
    figures = cases.queue_stats(db)
    events = db.execute("SELECT count(*) FROM status_events WHERE synced = 0").fetchone()[0]
    # Requests sealed while sync.regional_key was empty go only once a node key re-seals them:
    # the officer must see that they wait, and for what, before pressing "sync now".
    awaiting = pending_counts(_node())["awaiting_seal"]
    return render_template("kiosk/sync.html", stats=figures, events_backlog=events, result=result,
                           configured=bool(_node().config["sync.url"]), awaiting_seal=awaiting,
                           regional_key=bool(_node().config["sync.regional_key"]),
                           oldest=stats.duration_text(figures["oldest_unsynced_age_s"] or 0, _)), status


@blueprint.get("/sync")
def sync_panel():
    return _sync_page()


@blueprint.post("/sync")
def sync_now():
    from sync.client.jobs import sync_now as run_sync

    try:
        result = run_sync(current_app._get_current_object())  # type: ignore[attr-defined]
    except Exception:  # the panel must answer even when a pass blows up
        current_app.logger.exception("sync now failed")
        result = {"configured": True, "ok": False, "message": _("Sync failed; see the node log.")}
    if not result.get("configured"):
        result = dict(result, message=_("No regional server is configured (setting sync.url)."))
    elif not result.get("message"):
        result = dict(result, message=_("Sync done.") if result.get("ok") else _("Sync failed."))
    return _sync_page(result)


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
        median=stats.duration_text(figures.median_to_ready_s, _) if figures.median_to_ready_s is not None else None,
    )
