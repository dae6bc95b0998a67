"""USSD channel: Africa's Talking or any HTTP USSD aggregator driving a catalog-built menu.

Routes (``routes``): ``POST /channels/ussd/africastalking`` and ``POST
/channels/ussd/http``, 403 unless authenticated by token or source address.
Modules: ``menu`` (pure state machine), ``screens`` (pure renderers),
``sessions`` (SQLite state), ``handler`` (the I/O edge). See docs/ussd.md.
"""

from __future__ import annotations

import re

from flask import Flask

from channels.ussd.handler import Handler
from gateway.app import node_of
from gateway.config import checks
from gateway.config.settings import Setting


def init_app(app: Flask) -> None:
    """Wire this channel's routes into the node app."""
    from channels.ussd import routes

    handler = Handler(node_of(app), app.config["SIMPUL"])
    app.extensions["simpul_ussd"] = handler
    routes.init_app(app, handler)


order = 20
channels = ("ussd",)  # requests.channel values this part writes


def migrations():
    from channels.ussd.schema import migrations as sets

    return sets


def poster_items(config, locale: str) -> list:  # noqa: ANN001 - a Config
    """The poster's USSD box, when ``ussd.service_code`` names the code to dial."""
    from channels.ussd.poster import items

    return items(config, locale)


def _service_code(value: str) -> None:
    """A USSD code as people dial it: ``*123#`` or ``*123*45#`` (empty: no USSD on the poster)."""
    if value and not re.fullmatch(r"\*\d{1,6}(\*\d{1,6})*#", value):
        raise ValueError("must look like *123*45# (a star, digits, more *digits, a closing #) or be empty")


def settings() -> tuple[Setting, ...]:
    """Session lifetimes, who may call, and the generic aggregator's fields ([ussd] in config.toml)."""
    return (
        Setting("ussd.service_code", "", "The USSD code citizens dial (e.g. *123*45#), printed on the poster; "
                "empty: the poster has no USSD line.", check=_service_code),
        Setting("ussd.session_timeout_seconds", 180, "A USSD session is forgotten after this long."),
        Setting("ussd.resume_minutes", 10, "An unfinished USSD form is offered for resumption this long."),
        Setting("ussd.format", "africastalking", "USSD aggregator: 'africastalking' or 'http' ([ussd.http] field "
                "names); the other format's route answers 404.", check=checks.one_of(("africastalking", "http"))),
        Setting("ussd.allowed_sources", [], "Client addresses or CIDR ranges (e.g. [\"10.0.0.0/8\"]) whose USSD "
                "requests are accepted without ?token=; empty: only SIMPUL_USSD_TOKEN authenticates.",
                item=str, check=checks.ip_networks),
        Setting("ussd.http.session_field", "sessionId", "Generic USSD aggregator: the field holding the session id."),
        Setting("ussd.http.phone_field", "msisdn", "Generic USSD aggregator: the field holding the caller's number."),
        Setting("ussd.http.text_field", "input", "Generic USSD aggregator: the field holding the caller's input."),
        Setting("ussd.http.service_code_field", "serviceCode", "Generic USSD aggregator: the field holding the "
                "dialled code."),
        Setting("ussd.http.input_mode", "path", "Generic USSD aggregator: 'path' (every input so far, 1*2*3) or "
                "'last' (only the newest input).", check=checks.one_of(("path", "last"))),
        Setting("ussd.http.reply", "text", "Generic USSD aggregator: reply as 'text' (with the prefixes below) or "
                "'json' ({\"text\": ..., \"end\": true|false}).", check=checks.one_of(("text", "json"))),
        Setting("ussd.http.continue_prefix", "CON ", "Generic USSD aggregator: text-reply prefix of a screen that "
                "waits for input."),
        Setting("ussd.http.end_prefix", "END ", "Generic USSD aggregator: text-reply prefix of the last screen."),
    )
