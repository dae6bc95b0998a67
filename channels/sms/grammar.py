"""The SMS grammar, driven by the service catalog: text in, a command out.

Pure: no I/O, no locale, never raises (fuzzed in the tests). Shapes:

- ``KEYWORD#f1#f2#...`` submit; keyword case-insensitive (any catalog alias),
  spaces around ``#`` ignored, the last field takes the rest of the text
  including any ``#`` (``ADUAN#jalan rusak #3 dekat masjid``).
- ``STATUS <code>``, ``CEK <code>``, ``STATUS#<code>``.
- ``INFO <keyword>``; ``HELP`` / ``BANTUAN`` (or anything unrecognized).
- ``BAHASA EN|ID|JAWA|SUNDA``, ``LANGUAGE EN``, ``BASA JAWA|SUNDA``; ``JV`` and
  ``SU`` alone (villagers write the language the way they say it).
- ``TANYA <question>`` (``ASK``): a question for the office's inbox.

What a citizen wrote that is no command is a question too (``question`` of
``Unknown`` and ``FormatHint``): a first word that is no keyword, no near-miss
of one and no tracking code; or a keyword without ``#`` followed by words that
read as a sentence ("KTP saya hilang, bagaimana?").

Command words are checked before catalog keywords, so a catalog must not use
them as keywords (they would be unreachable).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from gateway.intake import codes
from gateway.intake.catalog import Catalog, Service

STATUS_WORDS = ("STATUS", "CEK")
INFO_WORDS = ("INFO",)
HELP_WORDS = ("HELP", "BANTUAN", "MENU", "?")
LANGUAGE_WORDS = ("BAHASA", "BASA", "LANGUAGE", "LANG")
ASK_WORDS = ("TANYA", "ASK")
LANGUAGE_NAMES = {
    "ID": "id", "IND": "id", "INDONESIA": "id", "INDONESIAN": "id", "INDO": "id",
    "EN": "en", "ENG": "en", "ENGLISH": "en", "INGGRIS": "en",
    "JV": "jv", "JAWA": "jv", "JAVA": "jv", "JAVANESE": "jv",
    "SU": "su", "SUNDA": "su", "SUNDANESE": "su",
}
# A language code alone is a whole command: "JV", "SU".
LANGUAGE_SHORTCUTS = {"JV": "jv", "SU": "su"}
COMMAND_WORDS = STATUS_WORDS + INFO_WORDS + HELP_WORDS + LANGUAGE_WORDS + ASK_WORDS + tuple(LANGUAGE_SHORTCUTS)
_HEAD = re.compile(r"\s*([^\s#]*)\s*(#?)(.*)", re.DOTALL)
SUGGEST_CUTOFF = 0.7
_WORD = re.compile(r"[^\W\d_]{2,}")  # a word of two letters or more
_NUMBER = re.compile(r"\d{5,}")  # a NIK, a phone number: a form typed without '#', not a sentence


@dataclass(frozen=True)
class Submit:
    service: Service
    values: dict[str, str]


@dataclass(frozen=True)
class FormatHint:
    """A service keyword without ``#`` fields: the sender needs the format.

    ``question``: the whole text when the rest reads as a sentence (it goes to
    the inbox as well); empty otherwise.
    """

    service: Service
    question: str = field(default="", compare=False)


@dataclass(frozen=True)
class Status:
    code: str  # as typed; empty when missing


@dataclass(frozen=True)
class Info:
    service: Service | None  # None: unknown or missing keyword
    suggestion: str | None = None


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Language:
    locale: str | None  # None: missing or unknown language


@dataclass(frozen=True)
class Ask:
    """``TANYA <question>``; ``text`` is empty when the question is missing."""

    text: str


@dataclass(frozen=True)
class Unknown:
    """Unrecognized first word; ``suggestion`` is the closest keyword, if any.

    ``question``: the whole text when it is neither a near-miss (no
    suggestion) nor a tracking code - a message for the inbox; else empty.
    """

    suggestion: str | None = None
    service: Service | None = field(default=None, compare=False)
    question: str = field(default="", compare=False)


Command = Submit | FormatHint | Status | Info | Help | Language | Ask | Unknown


def reads_as_sentence(rest: str) -> bool:
    """Whether the words after a keyword (no ``#``) are a sentence rather than fields typed without ``#``."""
    rest = rest.strip()
    if not rest or _NUMBER.search(rest):
        return False
    return rest.endswith("?") or len(_WORD.findall(rest)) >= 2


def is_tracking_code(text: str) -> bool:
    """A bare tracking code (even with a typo in it): answered as today, never filed as a question."""
    try:
        codes.normalize(text)
    except codes.BadCheck:
        return True
    except codes.CodeError:
        return False
    return True


def suggest(word: str, candidates: list[str]) -> str | None:
    """Closest candidate to a mistyped ``word`` (difflib), or None."""
    if len(word) < 2:
        return None
    found = difflib.get_close_matches(word.upper(), candidates, n=1, cutoff=SUGGEST_CUTOFF)
    return found[0] if found else None


def split_fields(rest: str, count: int) -> list[str]:
    """Split on ``#`` into at most ``count`` parts; the last keeps the rest."""
    if count <= 0:
        return []
    parts = rest.split("#", count - 1)
    return [p.strip() for p in parts]


def parse(text: str, catalog: Catalog) -> Command:
    """Turn an SMS body into a command. Never raises."""
    match = _HEAD.match(text or "")
    head = match.group(1).upper() if match else ""
    has_hash = bool(match and match.group(2))
    rest = (match.group(3) if match else "").strip()
    if not head and not has_hash:
        return Help()
    if head in STATUS_WORDS:
        return Status(code=rest.strip().strip("#").strip())
    if head in INFO_WORDS:
        word = rest.strip("# ").split()[0].upper() if rest.strip("# ") else ""
        service = catalog.by_keyword(word) if word else None
        if service is None and word:
            return Info(None, suggest(word, catalog.keywords()))
        return Info(service)
    if head in HELP_WORDS:
        return Help()
    if head in ASK_WORDS:
        return Ask(rest.strip("# ").strip())
    if head in LANGUAGE_WORDS:
        word = rest.strip("# ").split()[0].upper() if rest.strip("# ") else ""
        return Language(LANGUAGE_NAMES.get(word))
    if head in LANGUAGE_SHORTCUTS and not has_hash and not rest:
        return Language(LANGUAGE_SHORTCUTS[head])
    service = catalog.by_keyword(head) if head else None
    if service is not None:
        if not has_hash:
            return FormatHint(service, text.strip() if reads_as_sentence(rest) else "")
        names = [f.name for f in service.sms_fields()]
        values = split_fields(rest, len(names))
        return Submit(service, {n: v for n, v in zip(names, values, strict=False) if v != ""})
    guess = suggest(head, catalog.keywords() + list(STATUS_WORDS + INFO_WORDS + LANGUAGE_WORDS + ASK_WORDS))
    if guess:
        return Unknown(guess, catalog.by_keyword(guess))
    whole = (text or "").strip()
    return Unknown(None, question="" if is_tracking_code(whole) else whole)
