"""Placeholder: this package's background jobs are built by its own issue."""

from __future__ import annotations

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask


def register(scheduler: BaseScheduler, app: Flask) -> None:
    """Add this package's jobs to the scheduler."""
