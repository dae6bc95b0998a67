"""The outbound sender: one pass over due rows of the ``outbound`` queue.

Run by the ``sms-send`` job every ``sms.send_interval_seconds`` and right
after ``simpul sms gammu-receive`` queues a reply. With ``sms.provider = ""``
it does nothing at all: queued messages wait, nothing tries the internet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from channels.sms import providers
from channels.sms.providers import base
from gateway.node import Node
from gateway.outbox import delivery

log = logging.getLogger(__name__)
PASS_LIMIT = 200  # rows per pass; the next pass continues


@dataclass
class PassReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    recovered: int = 0
    forgotten: int = 0  # e.g. our texts deleted from gammu-smsd's sent folder
    errors: list[str] = field(default_factory=list)


def per_minute(node: Node, provider: str) -> int:
    return max(1, int(node.config[f"sms.{provider}.per_minute"]))


def recover_stale(node: Node, provider: providers.Provider) -> int:
    """Resolve rows a crashed sender left in ``sending`` - without resending blindly.

    The provider says whether it holds the row (Gammu: our outbox file names
    carry the row id -> sent; no such file -> never handed over, queued
    again). A provider that cannot tell (Twilio, Android, HTTP) leaves the row
    ``failed`` with last_error "outcome unknown"; a later delivery report
    naming the row overrides that, and an operator can resend with
    ``simpul sms requeue ID``.
    """
    stale = delivery.stale_sending(node.store.read())
    for row in stale:
        found = provider.recover(row) if row["provider"] == provider.name else None
        if found:
            node.store.write(lambda db, r=row, f=found: delivery.mark_sent(
                db, r["id"], f, forget_body=provider.blank_on_handover))
        elif found == base.NOT_HANDED_OVER:  # the provider knows it never got it: safe to queue again
            node.store.write(lambda db, r=row: delivery.mark_retry(
                db, r["id"], "sender stopped before handing over", int(node.config["sms.max_attempts"])))
        else:
            node.store.write(lambda db, r=row: delivery.mark_failed(
                db, r["id"], "sender stopped during the send: outcome unknown, not resent automatically"))
    return len(stale)


def send_due(node: Node, provider: providers.Provider | None = None, limit: int = PASS_LIMIT) -> PassReport:
    """Send what is due through the configured provider, respecting its pacing."""
    report = PassReport()
    provider = provider or providers.build(node.config)
    if provider is None:
        return report
    report.recovered = recover_stale(node, provider)
    before = getattr(provider, "before_pass", None)
    if before is not None:
        report.forgotten = before(node) or 0  # e.g. our texts in gammu-smsd's sent folder
    max_attempts = int(node.config["sms.max_attempts"])
    pace = per_minute(node, provider.name)
    for _ in range(limit):
        row = node.store.write(lambda db: delivery.claim_next(db, provider.name, pace))
        if row is None:  # nothing due, or this minute's pacing budget is spent
            break
        try:
            provider_id = provider.send(row["id"], row["to"], row["body"])
        except providers.Offline as exc:
            node.store.write(lambda db, r=row, e=exc: delivery.mark_retry(
                db, r["id"], str(e), max_attempts, count_attempt=False))
            report.retried += 1
            report.errors.append(str(exc))
            break  # the link is down: leave the rest queued for the next pass
        except providers.Retryable as exc:
            status = node.store.write(lambda db, r=row, e=exc: delivery.mark_retry(db, r["id"], str(e), max_attempts))
            report.retried += status == "queued"
            report.failed += status == "failed"
            report.errors.append(str(exc))
        except providers.SendError as exc:  # Permanent or Unknown: never resent automatically
            node.store.write(lambda db, r=row, e=exc: delivery.mark_failed(db, r["id"], str(e), e.code))
            report.failed += 1
            report.errors.append(str(exc))
        else:
            # A provider without delivery reports (Gammu, an HTTP aggregator without callbacks):
            # once handed over it can never be resent, so its text (possibly a case worker's
            # note) is blanked with the ack.
            node.store.write(lambda db, r=row, p=provider_id: delivery.mark_sent(
                db, r["id"], p, forget_body=provider.blank_on_handover))
            report.sent += 1
    for error in report.errors[:3]:
        log.warning("outbound SMS: %s", error)  # provider errors only: no numbers, no bodies
    return report
