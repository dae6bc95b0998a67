"""Retention hooks of the channels: forget what they hold about a purged request.

Called by ``gateway.privacy.retention.purge`` in the same transaction that strips the
request's own personal fields (see docs/security.md; outbound SMS are the
core's, ``gateway.outbox.queue.purge_request``; feedback is the web part's,
``channels.web.feedback.purge_request``): the inbound SMS log loses the number and the reply.
"""

from __future__ import annotations

import sqlite_utils


def purge_request(db: sqlite_utils.Database, request_id: str) -> None:
    db.execute("UPDATE sms_inbound SET phone = '', reply = NULL WHERE request_id = ?", [request_id])
