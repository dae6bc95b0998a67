"""The kiosk's sync panel (hook ``kiosk_panels``): what waits to sync, and a "sync now" button.

Contributed by the sync part so the kiosk never imports sync: the kiosk
mounts it at ``/kiosk/sync`` behind its login and CSRF check
(``gateway/panels.py``). Requests sealed while ``sync.regional_key`` was
empty go only once a node key re-seals them, so the panel says that they
wait, and for what, before the officer presses the button.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from gateway.app import node_of
from gateway.cases import records as cases
from gateway.durations import duration_text
from gateway.i18n import N_, gettext
from gateway.intake import guard
from gateway.panels import Panel, PanelRequest

log = logging.getLogger(__name__)
TITLE = N_("Sync")
NOT_CONFIGURED = N_("No regional server is configured (setting sync.url).")
CRASHED = N_("Sync failed; see the node log.")
DONE, FAILED = N_("Sync done."), N_("Sync failed.")


def view(req: PanelRequest) -> dict[str, Any]:
    from sync.client.runner import pending_counts

    node = node_of(req.app)
    db = node.store.read()
    figures = cases.queue_stats(db)
    return {"stats": figures,
            "events_backlog": db.execute("SELECT count(*) FROM status_events WHERE synced = 0").fetchone()[0],
            "awaiting_seal": pending_counts(node)["awaiting_seal"],
            "configured": bool(node.config["sync.url"]), "regional_key": bool(node.config["sync.regional_key"]),
            "oldest": duration_text(figures["oldest_unsynced_age_s"] or 0,
                                    lambda msgid, **params: gettext(req.locale, msgid, **params)),
            "refused": refusal(node, db, req.locale), "result": None}


def refusal(node: Any, db: Any, locale: str) -> dict[str, Any] | None:
    """The published catalog this node refused (it would unseal a field), for the notice; None if none.

    Field names are shown with the running catalog's labels: it still seals those fields, so it
    knows them, and the officer reads "Service: Field", not ``SERVICE.field``.
    """
    refused = guard.last_refusal(db)
    if not refused:
        return None
    return {"version": refused["version"], "at": refused["at"], "running": node.catalog.version,
            "fields": guard.field_labels(node.catalog, refused["fields"], locale)}


def sync_now(req: PanelRequest) -> dict[str, Any]:
    """Run one pass now; the figures are read again after it."""
    from sync.client import jobs

    try:
        result = jobs.sync_now(req.app)
    except Exception:  # the panel must answer even when a pass blows up
        log.exception("sync now failed")
        result = {"configured": True, "ok": False, "message": gettext(req.locale, CRASHED)}
    if not result.get("configured"):
        result = dict(result, message=gettext(req.locale, NOT_CONFIGURED))
    elif not result.get("message"):
        result = dict(result, message=gettext(req.locale, DONE if result.get("ok") else FAILED))
    return {**view(req), "result": result}


def panels() -> list[Panel]:
    return [Panel(id="sync", title=TITLE, template="sync_panel.html", templates=Path(__file__).parent / "templates",
                  view=view, action=sync_now, order=50)]
