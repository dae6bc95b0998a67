"""The officers' kiosk (``/kiosk/``): login, assisted submission, receipt, queue, sync, dashboard.

Runs on a shared touch screen or laptop in the village office, so sessions
are short (idle timeout), every form carries a CSRF token and pages with
personal data are never cached.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this channel's routes into the node app."""
    from channels.kiosk import (  # noqa: F401 - routes
        auth,
        views_access,
        views_admin,
        views_officers,
        views_password,
        views_queue,
        views_submit,
    )
    from channels.kiosk.blueprint import blueprint
    from channels.web.ui import install_ui

    install_ui(app)
    app.register_blueprint(blueprint)


order = 30
after = ("web",)


def migrations():
    from channels.kiosk.schema import migrations as sets

    return sets


def register_commands(cli) -> None:  # noqa: ANN001 - the click group
    from channels.kiosk.cli import register

    register(cli)


def register_jobs(scheduler, app: Flask) -> None:  # noqa: ANN001 - APScheduler
    from channels.kiosk.jobs import register

    register(scheduler, app)
