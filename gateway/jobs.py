"""Background jobs inside ``simpul serve`` (APScheduler).

Packages contribute jobs through ``JOB_MODULES``; each exposes
``register(scheduler, app)``. Jobs are off with ``[jobs] enabled = false`` or
``simpul serve --no-jobs``, so tests start them only when they test them.
"""

from __future__ import annotations

from importlib import import_module

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

JOB_MODULES = ("gateway.retention", "channels.sms.jobs", "sync.jobs", "channels.kiosk.jobs")


def start_jobs(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for name in JOB_MODULES:
        import_module(name).register(scheduler, app)
    scheduler.start()
    return scheduler
