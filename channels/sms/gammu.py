"""Gammu SMSD files backend: read inbox files, join multipart messages.

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
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from channels.sms.inbound import Handler, InboundSms, Outcome
from gateway.i18n import Message

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
