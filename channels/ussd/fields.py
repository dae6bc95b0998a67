"""How a typed entry on a field screen is told apart from navigation.

The input is validated as a value for the field first; ``0`` / ``00`` only
navigate when they cannot be a valid value. Free-text fields reserve exactly
``0`` and ``00`` (a name, an address or a complaint of "0" carries nothing),
so they can navigate too; a field that accepts 0 as a value (an integer with
minimum 0) cannot, and its screen does not offer it.
"""

from __future__ import annotations

from gateway.i18n import Message
from gateway.intake.catalog import Field
from gateway.intake.validators import Invalid

BACK, HOME, MORE = "0", "00", "98"
NAV = frozenset({BACK, HOME})


def field_value(f: Field, entry: str, locale: str) -> str:
    """The normalized value of ``entry`` for ``f``, or raise Invalid."""
    if f.type == "text" and entry.strip() in NAV:
        raise Invalid(Message("required"))
    return str(f.validate(entry, locale))


def skip_entry(f: Field) -> str | None:
    """The number that skips an optional choice field (the one after its options), else None.

    Not every handset can send an empty USSD reply, so an optional choice offers
    skipping as one more numbered line; the value is then left out ("unknown" in
    the district analytics). It can never be a valid option number.
    """
    return str(len(f.options) + 1) if f.type == "choice" and not f.required else None


def accepts_navigation(f: Field, locale: str) -> bool:
    """True when neither ``0`` nor ``00`` is a valid value, so they can navigate."""
    for token in NAV:
        try:
            field_value(f, token, locale)
        except Invalid:
            continue
        return False
    return True
