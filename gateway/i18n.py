"""Translations for every user-facing string, via Babel catalogs in ``locales/``.

Each part of the code base has its own Babel *domain* (``locales/<domain>.cfg``
says which files it covers) so that parts can add strings without touching
each other's catalogs; at run time all domains of a locale are merged.

Pure code (validators, parsers, renderers) does not know the reader's locale,
so it returns :class:`Message` objects: a msgid plus parameters, rendered at
the edge with :func:`render`. ``pybabel extract`` finds them because
``Message`` and ``N_`` are declared as keywords in ``babel.cfg``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from babel.support import NullTranslations, Translations

LOCALES = ("id", "en", "jv", "su")
DEFAULT_LOCALE = "id"
# Each language named in itself: a switch must be readable by someone who cannot read the current one.
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English", "jv": "Basa Jawa", "su": "Basa Sunda"}


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return msgid


def locale_dir() -> str:
    return str(resources.files("locales"))


def domains() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files("locales").iterdir() if p.name.endswith(".cfg"))


@cache
def translations(locale: str) -> NullTranslations:
    """All domains of ``locale`` merged into one catalog."""
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    merged: NullTranslations | None = None
    for domain in domains():
        loaded = Translations.load(locale_dir(), [locale], domain)
        if merged is None or not isinstance(merged, Translations):
            merged = loaded
        elif isinstance(loaded, Translations):
            merged.merge(loaded)
    return merged or NullTranslations()


def pick_locale(value: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Map a free-form language tag ('en-US', 'EN', None) to a shipped locale."""
    if value:
        short = value.strip().lower().replace("_", "-").split("-")[0]
        if short in LOCALES:
            return short
    return default if default in LOCALES else DEFAULT_LOCALE


def gettext(locale: str, msgid: str, **params: Any) -> str:
    text = translations(locale).gettext(msgid)
    return text % params if params else text


@dataclass(frozen=True)
class Message:
    """A translatable message with its parameters, rendered late."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def __init__(self, msgid: str, **params: Any):
        object.__setattr__(self, "msgid", msgid)
        object.__setattr__(self, "params", params)

    def render(self, locale: str) -> str:
        return gettext(locale, self.msgid, **self.params)


def render(message: Message | str, locale: str) -> str:
    if isinstance(message, Message):
        return message.render(locale)
    return message
