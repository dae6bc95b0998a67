"""The officers' kiosk (``/kiosk/``): login, assisted submission, receipt, queue, dashboard, and the panels other parts add (sync, SMS).

Runs on a shared touch screen or laptop in the village office, so sessions
are short (idle timeout), every form carries a CSRF token and pages with
personal data are never cached.
"""

from __future__ import annotations

from flask import Flask

from gateway.config.settings import Setting


def init_app(app: Flask) -> None:
    """Wire this channel's routes into the node app."""
    from channels.kiosk import (  # noqa: F401 - routes
        auth,
        training,
        views_access,
        views_admin,
        views_inbox,
        views_officers,
        views_panels,
        views_password,
        views_poster,
        views_queue,
        views_submit,
        views_training,
    )
    from channels.kiosk.blueprint import blueprint
    from gateway.web.ui import install_ui

    install_ui(app)
    app.register_blueprint(blueprint)
    training.install(app)
    views_panels.install(app)


order = 30
channels = ("kiosk",)  # requests.channel values this part writes
after = ("web",)


def kiosk_panels() -> list:
    """The admins' health page: the checks of `simpul doctor` (channels/kiosk/doctor_panel.py)."""
    from channels.kiosk.doctor_panel import panels

    return panels()


def migrations():
    from channels.kiosk.schema import migrations as sets

    return sets


def register_commands(cli) -> None:  # noqa: ANN001 - the click group
    from channels.kiosk.cli import register

    register(cli)


def register_jobs(scheduler, app: Flask) -> None:  # noqa: ANN001 - APScheduler
    from channels.kiosk.jobs import register

    register(scheduler, app)


def settings() -> tuple[Setting, ...]:
    """Officer session timeouts and the login throttle ([kiosk] in config.toml)."""
    return (
        Setting("kiosk.idle_timeout_minutes", 10, "Officer session ends after this long without activity (shared screen)."),
        Setting("kiosk.absolute_timeout_hours", 8, "Officer session ends this long after login whatever the activity."),
        Setting("kiosk.login_free_attempts", 5, "Failed logins allowed per (username, client address) before each further failure imposes a wait."),
        Setting("kiosk.training_path", "", "Practice sessions' throwaway database (never synced, never counted, "
                "no SMS sent; wiped when practice ends or after 24 h); empty: <storage.path name>-training.db "
                "beside the live one."),
        Setting("kiosk.login_max_delay_seconds", 900, "Longest wait after repeated failed logins (the wait doubles from 30 s; no account lockout)."),
    )
