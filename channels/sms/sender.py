"""The outbound sender: one pass over due rows of the ``outbound`` queue.

Run by the ``sms-send`` job every ``sms.send_interval_seconds`` and right
after ``simpul sms gammu-receive`` queues a reply. With ``sms.provider = ""``
it does nothing at all: queued messages wait, nothing tries the internet.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from channels.sms import providers
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
    forgotten: int = 0  # our texts deleted from gammu-smsd's sent folder
    errors: list[str] = field(default_factory=list)


def per_minute(node: Node, provider: str) -> int:
    return max(1, int(node.config[f"sms.{provider}.per_minute"]))


def recover_stale(node: Node, provider) -> int:
    """Resolve rows a crashed sender left in ``sending`` - without resending blindly.

    Gammu: our outbox file names carry the row id; if such a file exists in
    the outbox or a sibling folder (sent/, error/) it was handed over
    (-> sent); if none exists it never was (-> queued again, safe).
    Twilio: we cannot ask "did you get this?", so the row becomes ``failed``
    with last_error "outcome unknown"; a later status callback (our
    StatusCallback URL names the row) overrides that, and an operator can
    resend with ``simpul sms requeue ID``.
    """
    stale = delivery.stale_sending(node.store.read())
    for row in stale:
        if row["provider"] == "gammu" and isinstance(provider, providers.GammuProvider):
            found = _gammu_file_for(provider.outbox, row["id"])
            if found:
                node.store.write(lambda db, r=row, f=found: delivery.mark_sent(db, r["id"], f, forget_body=True))
            else:
                node.store.write(lambda db, r=row: delivery.mark_retry(
                    db, r["id"], "sender stopped before handing over", int(node.config["sms.max_attempts"])))
        else:
            node.store.write(lambda db, r=row: delivery.mark_failed(
                db, r["id"], "sender stopped during the send: outcome unknown, not resent automatically"))
    return len(stale)


def _gammu_file_for(outbox: Path, outbound_id: int) -> str | None:
    suffix = f"_simpul{outbound_id}.txt"
    folders = [outbox] + ([p for p in outbox.parent.iterdir() if p.is_dir()] if outbox.parent.exists() else [])
    for folder in folders:
        try:
            for entry in folder.iterdir():
                if entry.name.endswith(suffix):
                    return entry.name
        except OSError:
            continue
    return None


_OUR_FILE = re.compile(r"_simpul(\d+)\.txt$")


def forget_gammu_sent(node: Node) -> int:
    """Delete our texts from gammu-smsd's sent folder (``sms.gammu.sent_path``); returns how many.

    smsd moves every sent outbox file there and never deletes it, so without
    this the folder keeps every reply and notification (codes, service names,
    a case worker's note) on disk for ever. Only our own files (``_simpul<id>``)
    go, and only once their row is recorded as handed over: a row still in
    ``sending`` needs its file as proof for ``recover_stale``, which would
    otherwise queue it again and the citizen would get it twice.
    """
    folder = str(node.config["sms.gammu.sent_path"]).strip()
    if not folder:
        return 0
    try:
        ours = {int(m.group(1)): entry for entry in Path(folder).iterdir()
                if entry.is_file() and (m := _OUR_FILE.search(entry.name))}
    except OSError as exc:
        log.warning("gammu sent folder not readable: %s", exc.strerror or exc)
        return 0
    if not ours:
        return 0
    ids = list(ours)
    db = node.store.read()
    done = {r[0] for r in db.execute(
        f"SELECT id FROM outbound WHERE id IN ({','.join('?' * len(ids))}) AND status != 'sending'", ids)}
    removed = 0
    for outbound_id in sorted(done):
        try:
            ours[outbound_id].unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:  # e.g. smsd's folder not writable for the node's user
            log.warning("cannot delete sent SMS files from the gammu sent folder: %s", exc.strerror or exc)
            break
    return removed


def send_due(node: Node, provider=None, limit: int = PASS_LIMIT) -> PassReport:
    """Send what is due through the configured provider, respecting its pacing."""
    report = PassReport()
    provider = provider or providers.build(node.config)
    if provider is None:
        return report
    report.recovered = recover_stale(node, provider)
    if provider.name == "gammu":
        report.forgotten = forget_gammu_sent(node)  # what smsd sent since the last pass
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
            # Gammu gives no delivery reports: once handed over it can never be resent, so its
            # text (possibly a case worker's note) is blanked with the ack.
            node.store.write(lambda db, r=row, p=provider_id: delivery.mark_sent(
                db, r["id"], p, forget_body=provider.name == "gammu"))
            report.sent += 1
    for error in report.errors[:3]:
        log.warning("outbound SMS: %s", error)  # provider errors only: no numbers, no bodies
    return report
