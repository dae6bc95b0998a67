"""The SMS channel: Twilio webhooks, Gammu SMSD files, outbound sending.

``init_app`` hangs the Twilio endpoints on the node app.
"""

from __future__ import annotations

from flask import Flask

from channels.sms.inbound import Handler
from gateway.app import node_of
from gateway.config import checks
from gateway.config.settings import Setting


def init_app(app: Flask) -> None:
    """Wire this channel's routes into the node app."""
    from channels.sms.twilio_web import bp

    app.extensions["simpul_sms"] = Handler(node_of(app))
    app.register_blueprint(bp)


order = 10
channels = ("sms",)  # requests.channel values this part writes


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


def personal_data(db, subject):  # noqa: ANN001, ANN201 - sqlite_utils.Database, access.Subject
    """The SMS it sent and received for this person (right of access)."""
    from channels.sms.access import personal_data as report

    return report(db, subject)


def doctor_checks(config):  # noqa: ANN001, ANN201 - a Config; list of gateway.ops.doctor.Check
    from channels.sms.health import checks

    return checks(config)


def settings() -> tuple[Setting, ...]:
    """Provider choice, pacing and the reply-storm guard ([sms] in config.toml)."""
    return (
        Setting("sms.provider", "", "Outbound SMS provider: '' (keep queued), 'twilio' or 'gammu'.",
                check=checks.one_of(("", "twilio", "gammu"))),
        Setting("sms.max_auto_replies_per_hour", 20, "Reply-storm guard: automatic replies per number per hour."),
        Setting("sms.send_interval_seconds", 10, "How often the outbound job looks for queued messages."),
        Setting("sms.max_attempts", 8, "Attempts before an outbound message is marked failed."),
        Setting("sms.twilio.account_sid", "", "Twilio account SID for outbound SMS (the auth token comes from SIMPUL_TWILIO_AUTH_TOKEN)."),
        Setting("sms.twilio.from_number", "", "Sender number or messaging service for outbound Twilio SMS."),
        Setting("sms.twilio.api_base_url", "", "Override of Twilio's API base URL (tests point it at a local stand-in)."),
        Setting("sms.twilio.per_minute", 60, "Pacing: most Twilio messages sent per minute."),
        Setting("sms.gammu.inbox_path", "", "Gammu SMSD files-backend inbox folder (swept for received messages)."),
        Setting("sms.gammu.outbox_path", "", "Gammu SMSD files-backend outbox folder (outbound messages are written here)."),
        Setting("sms.gammu.per_minute", 6, "Pacing: most SMS a GSM modem is given per minute."),
        Setting("sms.gammu.sent_path", "", "Gammu SMSD's sentsmspath; when set, our sent texts are deleted from it "
                "once recorded as sent ('' leaves it alone)."),
    )
