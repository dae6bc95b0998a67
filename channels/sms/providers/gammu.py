"""Gammu SMSD files backend (a GSM modem, no internet): inbox sweep, outbox files, no delivery reports.

smsd (``[smsd] service = files``) writes each received part to
``IN<YYYYMMDD>_<HHMMSS>_<NN>_<sender>_<part>.txt`` in ``inboxpath`` and then
runs ``RunOnReceive`` with the file names; ``simpul sms gammu-receive``
processes them, and the ``sms-gammu-sweep`` job picks up anything that was
missed (smsd gives up on a slow RunOnReceive after 2 minutes, the node may
have been down). A processed file is deleted once its message is stored:
the text holds NIKs, names and addresses, and the request keeps them only
sealed, so no plaintext copy may stay behind on disk (a "done" folder would
be exactly that). The inbox log (``sms_inbound``) makes processing a file
twice harmless, and tells a file the sweep already took from a missing one.

The dedupe key is the first part's file name *plus a hash of the text*:
smsd picks the serial ``NN`` by looking for a free name in the inbox, so once
a processed file has been removed, the next message from the same number
with the same timestamp (the dummy driver and fast senders do this) gets the
very same name. The same file delivered twice still has the same key.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from channels.sms.errors import SmsError
from channels.sms.inbound import Handler, InboundSms, Outcome
from channels.sms.providers.base import NOT_HANDED_OVER, Retryable
from gateway import clock
from gateway.config.loader import Config
from gateway.i18n import Message
from gateway.node import Node

KEY = "gammu"
log = logging.getLogger(__name__)

INBOX_NAME = re.compile(
    r"IN(?P<date>\d{8})_(?P<time>\d{6})_(?P<serial>\d{2})_(?P<sender>.+)_(?P<part>\d{2})\.(?P<ext>[A-Za-z]+)")
SWEEP_MIN_AGE_SECONDS = 30  # leave fresh files to RunOnReceive (and let every part land)


@dataclass(frozen=True)
class InboxFile:
    path: Path
    date: str
    time: str
    serial: str
    sender: str
    part: int
    ext: str

    @property
    def group(self) -> tuple[str, str, str, str]:
        return self.date, self.time, self.serial, self.sender


def parse_name(path: Path) -> InboxFile | None:
    """The fields of a Gammu inbox file name, or None if it is not one."""
    match = INBOX_NAME.fullmatch(path.name)
    if match is None:
        return None
    return InboxFile(path, match["date"], match["time"], match["serial"], match["sender"],
                     int(match["part"]), match["ext"].lower())


def decode(data: bytes) -> str:
    """Text of an inbox file: UTF-16 (``inboxformat = unicode``) or UTF-8 (``standard``)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if len(data) >= 2 and len(data) % 2 == 0 and b"\x00" in data[:2]:  # unicode without BOM
        return data.decode("utf-16-be" if data[0] == 0 else "utf-16-le", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@dataclass(frozen=True)
class Received:
    message_id: str  # "<first part's file name>:<text hash>"
    sender: str
    body: str
    files: tuple[Path, ...]


def group(files: list[InboxFile]) -> list[Received]:
    """Join the parts of each multipart message, in part order."""
    groups: dict[tuple[str, str, str, str], list[InboxFile]] = {}
    for f in files:
        if f.ext == "txt":
            groups.setdefault(f.group, []).append(f)
    messages = []
    for key in sorted(groups):
        parts = sorted(groups[key], key=lambda f: f.part)
        body = "".join(decode(p.path.read_bytes()) for p in parts)
        digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        messages.append(Received(f"{parts[0].path.name}:{digest}", key[3], body, tuple(p.path for p in parts)))
    return messages


def resolve(names: list[str], inbox: str, processed: Callable[[str], bool] | None = None
            ) -> tuple[list[InboxFile], list[Message]]:
    """Inbox files named on the command line (absolute, relative, or bare names in the inbox).

    ``processed(name)`` says whether a file of that name was already handled
    (it is deleted then, so a missing file is not always a problem).
    """
    found: list[InboxFile] = []
    problems: list[Message] = []
    for name in names:
        path = Path(name)
        if not path.exists() and inbox and (Path(inbox) / name).exists():
            path = Path(inbox) / name
        if not path.exists():
            if processed is not None and processed(path.name):
                continue  # already processed (by the sweep) and deleted
            problems.append(Message("%(name)s: no such file", name=name))
            continue
        parsed = parse_name(path)
        if parsed is None:
            problems.append(Message("%(name)s: not a Gammu inbox file name (IN<date>_<time>_<NN>_<sender>_<part>.txt)",
                                name=name))
            continue
        found.append(parsed)
    return found, problems


def _delete_processed(message: Received) -> None:
    """Remove a message's files once it is stored: the text must not stay on disk in clear."""
    for path in message.files:
        try:
            path.unlink()
        except FileNotFoundError:
            pass  # another receiver took it first


def receive(handler: Handler, files: list[InboxFile]) -> list[tuple[Received, Outcome]]:
    """Process inbox files; replies go to the outbound queue in the same transaction."""
    results = []
    for message in group(files):
        outcome = handler.handle(InboundSms("gammu", message.message_id, message.sender, message.body),
                                 queue_reply=True)
        _delete_processed(message)  # only after the commit: a crash before it means a harmless re-read
        results.append((message, outcome))
    return results


def sweep(handler: Handler, inbox: str, min_age: float = SWEEP_MIN_AGE_SECONDS) -> list[tuple[Received, Outcome]]:
    """Process every inbox file older than ``min_age`` seconds."""
    folder = Path(inbox)
    if not inbox or not folder.is_dir():
        return []
    cutoff = time.time() - min_age
    files = []
    for path in folder.iterdir():
        parsed = parse_name(path) if path.is_file() else None
        try:
            if parsed is not None and path.stat().st_mtime <= cutoff:
                files.append(parsed)
        except FileNotFoundError:
            continue
    for other in (f for f in files if f.ext != "txt"):
        # 8-bit/binary (WAP push, MMS notices): not ours, and not left to pile up
        _delete_processed(Received(other.path.name, other.sender, "", (other.path,)))
    try:
        return receive(handler, files)
    except FileNotFoundError:
        return []  # a concurrent receiver took a file mid-read; the next sweep finishes


# -- outbound -------------------------------------------------------------

def outbox_name(outbound_id: int, to: str, now_iso: str | None = None) -> str:
    """``OUTC<date>_<time>_00_<number>_simpul<id>.txt``: Gammu's named outbox form.

    The note part carries our row id, so after a crash we can tell whether a
    file for this row was already handed to smsd (see GammuProvider.handed_over).
    """
    stamp = (now_iso or clock.utcnow()).replace("-", "").replace(":", "")
    date, _, time = stamp.rstrip("Z").partition("T")
    number = re.sub(r"[^0-9+]", "", to)
    return f"OUTC{date}_{time}_00_{number}_simpul{outbound_id}.txt"


class GammuProvider:
    """Hands a message to gammu-smsd by writing a file into its outbox folder."""

    name = KEY
    blank_on_handover = True  # smsd reports no delivery: a handed-over text is final

    def __init__(self, config: Config):
        path = config["sms.gammu.outbox_path"]
        if not path:
            raise SmsError("sms.provider = 'gammu' needs sms.gammu.outbox_path")
        self.outbox = Path(path)

    def send(self, outbound_id: int, to: str, body: str) -> str:
        name = outbox_name(outbound_id, to)
        try:
            self.outbox.mkdir(parents=True, exist_ok=True)
            # Write beside, then rename: smsd must never read a half file.
            # UTF-16 with BOM so any text (UCS-2 or GSM-7) survives.
            fd, tmp = tempfile.mkstemp(prefix=".simpul-", dir=self.outbox)
            with os.fdopen(fd, "wb") as fh:
                fh.write(b"\xff\xfe" + body.encode("utf-16-le"))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.outbox / name)
        except OSError as exc:
            raise Retryable(f"gammu outbox: {exc.strerror or exc}") from None
        return name

    def recover(self, row: dict[str, Any]) -> str | None:
        """Our file names carry the row id: a file in the outbox or a sibling folder means handed over."""
        return file_for(self.outbox, row["id"]) or NOT_HANDED_OVER

    def before_pass(self, node: Node) -> int:
        return forget_sent(node)


def file_for(outbox: Path, outbound_id: int) -> str | None:
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


def forget_sent(node: Node) -> int:
    """Delete our texts from gammu-smsd's sent folder (``sms.gammu.sent_path``); returns how many.

    smsd moves every sent outbox file there and never deletes it, so without
    this the folder keeps every reply and notification (codes, service names,
    a case worker's note) on disk for ever. Only our own files (``_simpul<id>``)
    go, and only once their row is recorded as handed over: a row still in
    ``sending`` needs its file as proof for ``GammuProvider.recover``, which would
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


def build(config: Config) -> GammuProvider:
    return GammuProvider(config)


def init_app(app: Flask) -> None:
    """No route: smsd's RunOnReceive (``simpul sms gammu-receive``) and the sweep job bring messages in."""
