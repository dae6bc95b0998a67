"""SMS providers, one module each, chosen by key: ``[sms] provider`` names the outbound one.

Each module (``twilio``, ``gammu``, ``android``, ``http``) has ``KEY``,
``build(config)`` (its outbound :class:`~channels.sms.providers.base.Provider`)
and ``init_app(app)`` (its inbound webhook, always routed, 403 until its own
secret is set). Adding a provider is one module here plus one line in
``REGISTRY`` (docs/architecture.md, "add an SMS provider").
"""

from __future__ import annotations

from types import ModuleType

from flask import Flask

from channels.sms.errors import SmsError
from channels.sms.providers import android, gammu, http, twilio
from channels.sms.providers.base import Offline, Permanent, Provider, Retryable, SendError, Unknown
from gateway.config.loader import Config

__all__ = ["REGISTRY", "Offline", "Permanent", "Provider", "Retryable", "SendError", "Unknown", "build",
           "init_app"]

REGISTRY: dict[str, ModuleType] = {module.KEY: module for module in (twilio, gammu, android, http)}


def build(config: Config) -> Provider | None:
    """The configured outbound provider, or None (messages stay queued)."""
    key = config["sms.provider"].strip().lower()
    if not key:
        return None
    module = REGISTRY.get(key)
    if module is None:
        names = ", ".join(repr(k) for k in ("", *REGISTRY))
        raise SmsError(f"sms.provider: unknown provider {key!r} (use {names})")
    return module.build(config)


def init_app(app: Flask) -> None:
    """Every provider's inbound routes, whichever one sends."""
    for module in REGISTRY.values():
        module.init_app(app)
