"""Placeholder: background jobs of the SMS channel, built by its own issue."""

from __future__ import annotations

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask


def register(scheduler: BaseScheduler, app: Flask) -> None:
    """Add this part's jobs to the scheduler."""
