"""Placeholder: this package's background jobs are built by its own issue."""

from __future__ import annotations

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask


def register(scheduler: BaseScheduler, app: Flask) -> None:
    """Add this package's jobs to the scheduler."""


def sync_now(app: Flask) -> dict:
    """Run one sync pass now (the kiosk's "sync now" button).

    Returns ``{"configured": bool, "ok": bool, "message": str}``; the message
    is already localized for the officer.
    """
    return {"configured": False, "ok": False, "message": ""}
