"""What ``simpul sms doctor`` checks (``simpul doctor`` has the short line, channels/sms/health.py): the SMS set-up problems an office can fix itself.

- the configured provider's settings and secrets (``providers.build``);
- the Android phone: webhooks reach the node only over HTTPS in the app's
  release build, so ``node.public_url`` must be ``https://``; a phone seen
  once and then silent for over 15 minutes is off, out of battery or off the LAN;
- an inbound route whose secret is unset answers 403 to everything.
"""

from __future__ import annotations

import os

from channels.sms import providers
from channels.sms.errors import SmsError
from channels.sms.providers import android, http
from gateway import clock
from gateway.i18n import N_, Message
from gateway.node import Node

BAD_PROVIDER = N_("SMS provider: %(problem)s")
ANDROID_NO_TLS = N_("The Android gateway phone sends webhooks only over HTTPS: set node.public_url to the https:// "
                    "address of the reverse proxy (see docs/sms.md).")
ANDROID_SILENT = N_("The Android gateway phone has been silent since %(since)s (over 15 minutes): check that it is "
                    "on, charged and on the office network.")
NO_SECRET = N_("%(env)s is not set: %(route)s refuses every request (403).")


def problems(node: Node) -> list[Message]:
    found: list[Message] = []
    config = node.config
    key = config["sms.provider"].strip().lower()
    try:
        providers.build(config)
    except SmsError as exc:
        found.append(Message(BAD_PROVIDER, problem=str(exc)))
    if key == android.KEY:
        if not config["node.public_url"].startswith("https://"):
            found.append(Message(ANDROID_NO_TLS))
        if not os.environ.get(android.SECRET_ENV):
            found.append(Message(NO_SECRET, env=android.SECRET_ENV, route="/channels/sms/android"))
        db = node.store.read()
        if android.silent(db):
            found.append(Message(ANDROID_SILENT, since=clock.parse(android.last_seen(db) or "").isoformat()))
    if key == http.KEY and not os.environ.get(http.SECRET_ENV):
        found.append(Message(NO_SECRET, env=http.SECRET_ENV, route="/channels/sms/http"))
    return found
