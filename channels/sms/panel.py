"""The kiosk's SMS panel (hook ``kiosk_panels``): is the gateway up, and did the texts get out?

Shows the outbound provider, the Android gateway phone's last sign of life
(flagged when silent for over 15 minutes) and the outbox by delivery state,
with the messages sent over 24 hours ago that never got a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from channels.sms.providers import android
from gateway.app import node_of
from gateway.i18n import N_
from gateway.outbox import states
from gateway.panels import Panel, PanelRequest

TITLE = N_("SMS gateway")


def counts(db: Any) -> dict[str, int]:
    """Outbound rows per delivery state, and how many are sent but unreported for over a day."""
    by_status = {status: 0 for status in states.LABELS}
    for status, n in db.execute("SELECT status, count(*) FROM outbound GROUP BY status"):
        by_status[status] = n
    unreported = sum(states.stuck(dict(r)) for r in db.query(
        "SELECT status, sent_at FROM outbound WHERE status = 'sent'"))
    return {**by_status, "stuck": unreported}


def view(req: PanelRequest) -> dict[str, Any]:
    node = node_of(req.app)
    db = node.store.read()
    provider = node.config["sms.provider"].strip().lower()
    return {"provider": provider, "counts": counts(db), "labels": states.LABELS, "no_report": states.NO_REPORT,
            "phone_seen": android.last_seen(db) if provider == android.KEY else None,
            "phone_silent": provider == android.KEY and android.silent(db)}


def panels() -> list[Panel]:
    return [Panel(id="sms", title=TITLE, template="sms_panel.html", templates=Path(__file__).parent, view=view,
                  order=60)]
