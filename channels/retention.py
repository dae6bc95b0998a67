"""Retention hooks of the channels: forget what they hold about a purged request.

Called by ``gateway.privacy.retention.purge`` in the same transaction that strips the
request's own personal fields (see docs/security.md): outbound SMS keep their
status and timestamps but lose number and text (one still queued is
dropped as stale); the inbound SMS log loses the
number and the reply; a feedback comment (free text) is dropped, the rating kept.
"""

from __future__ import annotations

import sqlite_utils


def purge_request(db: sqlite_utils.Database, request_id: str) -> None:
    # A message still queued a retention period after closing is stale: it is
    # not sent any more. One in flight ('sending') is left to its sender.
    db.execute("UPDATE outbound SET status = 'failed', last_error = 'purged by retention' "
               "WHERE request_id = ? AND status = 'queued'", [request_id])
    db.execute("UPDATE outbound SET \"to\" = '', body = '' WHERE request_id = ? AND status != 'sending'",
               [request_id])
    db.execute("UPDATE sms_inbound SET phone = '', reply = NULL WHERE request_id = ?", [request_id])
    db.execute("UPDATE feedback SET comment = '', comment_sealed = NULL WHERE request_id = ?", [request_id])
