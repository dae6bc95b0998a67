"""The SMS channel: providers (Twilio, Gammu, an Android phone, any HTTP aggregator), outbound sending.

``init_app`` hangs every provider's inbound webhook on the node app.
"""

from __future__ import annotations

from flask import Flask

from channels.sms.inbound import Handler
from gateway.app import node_of
from gateway.config import checks
from gateway.config.settings import Setting


def init_app(app: Flask) -> None:
    """Wire this channel's routes into the node app."""
    from channels.sms import providers

    app.extensions["simpul_sms"] = Handler(node_of(app))
    providers.init_app(app)


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


def kiosk_panels() -> list:
    """The SMS gateway's health and the outbox by delivery state (channels/sms/panel.py)."""
    from channels.sms.panel import panels

    return panels()


def poster_items(config, locale: str) -> list:  # noqa: ANN001 - a Config
    """The poster's SMS box (the number, when known) and the status and question commands."""
    from channels.sms.poster import items

    return items(config, locale)


def settings() -> tuple[Setting, ...]:
    """Provider choice, pacing, the reply-storm guard and each provider's rows ([sms] in config.toml).

    Declared here rather than in the provider modules: reading the config must
    not import Flask, requests and the twilio library.
    """
    return (
        Setting("sms.provider", "", "Outbound SMS provider: '' (keep queued), 'twilio', 'gammu', 'android' or 'http'.",
                check=checks.one_of(("", "twilio", "gammu", "android", "http"))),
        Setting("sms.public_number", "", "The number citizens send SMS to, printed on the poster (`simpul poster`); "
                "empty: the poster leaves a line to write it by hand."),
        Setting("sms.max_auto_replies_per_hour", 20, "Reply-storm guard: automatic replies per number per hour."),
        Setting("sms.send_interval_seconds", 10, "How often the outbound job looks for queued messages."),
        Setting("sms.max_attempts", 8, "Attempts before an outbound message is marked failed."),
        # providers/twilio.py
        Setting("sms.twilio.account_sid", "", "Twilio account SID for outbound SMS (the auth token comes from SIMPUL_TWILIO_AUTH_TOKEN)."),
        Setting("sms.twilio.from_number", "", "Sender number or messaging service for outbound Twilio SMS."),
        Setting("sms.twilio.api_base_url", "", "Override of Twilio's API base URL (tests point it at a local stand-in)."),
        Setting("sms.twilio.per_minute", 60, "Pacing: most Twilio messages sent per minute."),
        # providers/gammu.py
        Setting("sms.gammu.inbox_path", "", "Gammu SMSD files-backend inbox folder (swept for received messages)."),
        Setting("sms.gammu.outbox_path", "", "Gammu SMSD files-backend outbox folder (outbound messages are written here)."),
        Setting("sms.gammu.per_minute", 6, "Pacing: most SMS a GSM modem is given per minute."),
        Setting("sms.gammu.sent_path", "", "Gammu SMSD's sentsmspath; when set, our sent texts are deleted from it "
                "once recorded as sent ('' leaves it alone)."),
        # providers/android.py
        Setting("sms.android.url", "", "SMS Gateway for Android: the phone's Local Server base URL (e.g. "
                "http://192.168.1.20:8080); the password comes from SIMPUL_ANDROID_PASSWORD."),
        Setting("sms.android.username", "", "SMS Gateway for Android: the Local Server's Basic-auth username."),
        Setting("sms.android.per_minute", 10, "Pacing: most SMS the Android gateway phone is given per minute."),
        # providers/http.py
        Setting("sms.http.inbound_format", "form", "HTTP aggregator webhook body: 'form' or 'json'.",
                check=checks.one_of(("form", "json"))),
        Setting("sms.http.from_field", "from", "HTTP aggregator: the inbound field holding the sender's number."),
        Setting("sms.http.text_field", "text", "HTTP aggregator: the inbound field holding the message text."),
        Setting("sms.http.id_field", "id", "HTTP aggregator: the inbound field holding the aggregator's message id (dedupe)."),
        Setting("sms.http.send_url", "", "HTTP aggregator: URL outbound SMS are sent to; {to}, {text}, {id} are filled in."),
        Setting("sms.http.send_method", "POST", "HTTP aggregator: method for outbound SMS.",
                check=checks.one_of(("post", "get", "put"))),
        Setting("sms.http.send_body", "", "HTTP aggregator: body template with {to}, {text}, {id}; JSON when it starts "
                "with '{', else form-encoded; empty sends no body."),
        Setting("sms.http.send_auth_env", "", "HTTP aggregator: name of the env var whose value is sent as the "
                "Authorization header (e.g. 'Bearer ...'); empty sends none."),
        Setting("sms.http.success_status", "2xx", "HTTP aggregator: answers that mean 'taken': '2xx' or codes such as "
                "'200,202'."),
        Setting("sms.http.response_id_field", "", "HTTP aggregator: field of the JSON answer holding its message id "
                "(empty: our {id} is the id)."),
        Setting("sms.http.per_minute", 30, "Pacing: most SMS given to the HTTP aggregator per minute."),
        Setting("sms.http.status_field", "", "HTTP aggregator delivery callbacks: the field holding the status word "
                "(empty: no delivery reports; sent texts are blanked at hand-over)."),
        Setting("sms.http.status_id_field", "id", "HTTP aggregator delivery callbacks: the field holding the message id."),
        Setting("sms.http.delivered_values", "delivered,DELIVRD", "HTTP aggregator delivery callbacks: status words "
                "meaning delivered (comma-separated)."),
        Setting("sms.http.failed_values", "failed,undelivered,UNDELIV,REJECTD,EXPIRED", "HTTP aggregator delivery "
                "callbacks: status words meaning failed (comma-separated)."),
    )

