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
    from channels.web.ui import install_ui

    install_ui(app)
    app.register_blueprint(views.blueprint)
