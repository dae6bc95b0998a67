"""Background jobs inside ``simpul serve`` (APScheduler).

The core's own jobs (retention) come first, then each part's
``register_jobs(scheduler, app)`` (``gateway.parts``). Jobs are off with ``[jobs] enabled = false`` or
``simpul serve --no-jobs``, so tests start them only when they test them.
"""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from gateway import parts
from gateway.privacy import retention


def start_jobs(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    retention.register(scheduler, app)
    parts.call("register_jobs", scheduler, app)
    scheduler.start()
    return scheduler
