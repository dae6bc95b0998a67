"""Background jobs of the SMS channel inside ``simpul serve``.

- ``sms-send``: a paced pass over the outbound queue every
  ``sms.send_interval_seconds`` (does nothing while ``sms.provider`` is empty).
- ``sms-gammu-sweep``: processes Gammu inbox files RunOnReceive missed (only
  when ``sms.gammu.inbox_path`` is set).
- ``sms-inbound-prune``: forgets inbound log rows after 7 days (only the
  dedupe of provider redeliveries needs them; requests keep their own id),
  and blanks the bodies of outbound SMS that are delivered or were sent
  long enough ago (``delivery.forget_sent_bodies``).
"""

from __future__ import annotations

import datetime as dt
import logging

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from channels.sms import sender
from channels.sms.errors import SmsError
from channels.sms.providers import gammu
from gateway import clock
from gateway.app import node_of
from gateway.outbox import delivery

log = logging.getLogger(__name__)
INBOUND_KEEP_DAYS = 7


def _send(app: Flask) -> None:
    try:
        sender.send_due(node_of(app))
    except SmsError as exc:
        log.error("outbound SMS disabled: %s", exc)


def _sweep(app: Flask) -> None:
    gammu.sweep(app.extensions["simpul_sms"], node_of(app).config["sms.gammu.inbox_path"])


def _prune(app: Flask) -> None:
    cutoff = clock.to_iso(clock.now() - dt.timedelta(days=INBOUND_KEEP_DAYS))
    node_of(app).store.write(lambda db: db.execute("DELETE FROM sms_inbound WHERE received_at < ?", [cutoff]))
    node_of(app).store.write(delivery.forget_sent_bodies)


def register(scheduler: BaseScheduler, app: Flask) -> None:
    """Add this part's jobs to the scheduler."""
    config = node_of(app).config
    scheduler.add_job(_send, "interval", args=[app], id="sms-send",
                      seconds=max(1, int(config["sms.send_interval_seconds"])))
    if config["sms.gammu.inbox_path"]:
        scheduler.add_job(_sweep, "interval", args=[app], id="sms-gammu-sweep", seconds=15)
    scheduler.add_job(_prune, "interval", args=[app], id="sms-inbound-prune", hours=6)
