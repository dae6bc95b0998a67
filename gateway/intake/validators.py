"""Field validators: pure functions from typed text to a normalized value.

Each returns the normalized value or raises :class:`Invalid` carrying a
translatable message that says what is expected. Channels render it in the
citizen's language; the catalog decides which validator a field uses.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

import phonenumbers

from gateway.errors import SimpulError
from gateway.i18n import Message

PROVINCE_CODES = frozenset(
    [*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66),
     *range(71, 77), 81, 82, *range(91, 97)]
)
DEFAULT_REGION = "ID"


class Invalid(SimpulError, ValueError):
    """A value that does not satisfy its field; ``message`` says why."""

    def __init__(self, message: Message):
        super().__init__(message.msgid)
        self.message = message


def nik(value: str) -> str:
    """Indonesian NIK: 16 digits, real province, valid birth date, serial not 0000."""
    digits = re.sub(r"[\s.\-]", "", value)
    if not re.fullmatch(r"\d{16}", digits):
        raise Invalid(Message("must be 16 digits"))
    if int(digits[:2]) not in PROVINCE_CODES:
        raise Invalid(Message("the first two digits are not a province code"))
    day, month, year = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    if day > 40:  # women: day + 40
        day -= 40
    try:
        # The two-digit year cannot tell the century; 2000 is a leap year, so
        # 29 Feb passes for years divisible by 4, as for any real birth date.
        dt.date(2000 + year, month, day)
    except ValueError:
        raise Invalid(Message("digits 7-12 must be a birth date DDMMYY")) from None
    if digits[12:] == "0000":
        raise Invalid(Message("the last four digits cannot be 0000"))
    return digits


_DATE_FORMATS = (
    (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), ("y", "m", "d")),
)


def date(value: str, *, not_future: bool = False, today: dt.date | None = None) -> str:
    """A calendar date as DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD; ISO out."""
    text = value.strip()
    for pattern, order in _DATE_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            parts = dict(zip(order, map(int, match.groups()), strict=True))
            try:
                parsed = dt.date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                raise Invalid(Message("this date does not exist")) from None
            if not_future and parsed > (today or dt.datetime.now(dt.UTC).date()):
                raise Invalid(Message("the date cannot be in the future"))
            return parsed.isoformat()
    raise Invalid(Message("write the date as DD-MM-YYYY"))


def text(value: str, *, max_length: int = 200, min_length: int = 1) -> str:
    cleaned = " ".join(value.split()) if "\n" not in value else value.strip()
    if len(cleaned) < min_length:
        raise Invalid(Message("too short: at least %(min)d characters", min=min_length))
    if len(cleaned) > max_length:
        raise Invalid(Message("too long: at most %(max)d characters", max=max_length))
    return cleaned


@functools.lru_cache(maxsize=4096)  # pure and slow-ish (phonenumbers); citizens write again
def phone(value: str, region: str = DEFAULT_REGION) -> str:
    """Any common way of writing a number -> E.164 (0812…, 62812…, +62812…)."""
    raw = value.strip()
    if re.fullmatch(r"62\d{8,13}", raw):
        raw = "+" + raw
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise Invalid(Message("not a phone number")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid(Message("not a valid phone number"))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def integer(value: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise Invalid(Message("must be a whole number")) from None
    if minimum is not None and number < minimum:
        raise Invalid(Message("must be at least %(min)d", min=minimum))
    if maximum is not None and number > maximum:
        raise Invalid(Message("must be at most %(max)d", max=maximum))
    return number


def choice(value: str, options: list[tuple[str, list[str]]], display: str = "") -> str:
    """Match an option by number (1-based), code, or any of its labels.

    ``display`` is the option list as the reader should see it in the error.
    """
    wanted = value.strip().casefold()
    if wanted.isdecimal() and 1 <= int(wanted) <= len(options):  # not isdigit: "²" is a digit int() refuses
        return options[int(wanted) - 1][0]
    for code, labels in options:
        if wanted == code.casefold() or wanted in (label.casefold() for label in labels):
            return code
    shown = display or ", ".join(f"{i}={code}" for i, (code, _) in enumerate(options, 1))
    raise Invalid(Message("choose one of: %(options)s", options=shown))
