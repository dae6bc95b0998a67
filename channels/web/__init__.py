"""The citizen web portal (``/``) for phones on the office Wi-Fi.

Service information, a request form per service, tracking by code and
feedback on closed requests. It works without JavaScript and keeps each
page small; requests go through the one pipeline with channel ``web``.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this channel's routes into the node app."""
    from channels.web import views
    from gateway.web.ui import install_ui

    install_ui(app)
    app.register_blueprint(views.blueprint)
    _seal_legacy_feedback(app)


def _seal_legacy_feedback(app: Flask) -> None:
    """Comments stored in clear by an older version get sealed once, at start."""
    from channels.web import feedback
    from gateway.app import node_of
    from gateway.errors import SimpulError

    node = node_of(app)
    try:
        feedback.seal_legacy(node.store, node.vault)
    except SimpulError as exc:  # e.g. not provisioned yet: the next start does it
        app.logger.warning("feedback: legacy comments not sealed: %s", exc)


order = 25
channels = ("web",)  # requests.channel values this part writes


def personal_data(db, subject):  # noqa: ANN001, ANN201 - sqlite_utils.Database, access.Subject
    """The person's feedback, comments opened with the session's keys (right of access)."""
    from channels.web import feedback

    return feedback.report(db, subject)


def purge_request(db, request_id: str) -> None:  # noqa: ANN001 - sqlite_utils.Database
    from channels.web import feedback

    feedback.purge_request(db, request_id)
