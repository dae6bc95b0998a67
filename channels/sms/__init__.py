"""The SMS channel: Twilio webhooks, Gammu SMSD files, outbound sending.

``init_app`` hangs the Twilio endpoints on the node app. With the env flag
``SIMPUL_BENCH_HELLO=1`` it also adds ``GET /bench/sms-hello``, the trivial
baseline route ``bench/channels.py`` compares the webhook against; it is
never present otherwise.
"""

from __future__ import annotations

import os

from flask import Flask, Response

from channels.sms.inbound import Handler
from gateway.app import node_of


def init_app(app: Flask) -> None:
    """Wire this channel's routes into the node app."""
    from channels.sms.twilio_web import bp

    app.extensions["simpul_sms"] = Handler(node_of(app))
    app.register_blueprint(bp)
    if os.environ.get("SIMPUL_BENCH_HELLO") == "1":
        app.add_url_rule("/bench/sms-hello", "sms_bench_hello",
                         lambda: Response("hello", mimetype="text/plain"), methods=["GET", "POST"])


order = 10


def migrations():
    """The outbound queue and the inbound message log."""
    from channels.migrations import migrations as sets

    return sets


def register_commands(cli) -> None:  # noqa: ANN001 - the click group
    from channels.sms.cli import register

    register(cli)


def register_jobs(scheduler, app: Flask) -> None:  # noqa: ANN001 - APScheduler
    from channels.sms.jobs import register

    register(scheduler, app)


def purge_request(db, request_id: str) -> None:  # noqa: ANN001 - sqlite_utils.Database
    from channels.retention import purge_request as purge

    purge(db, request_id)
