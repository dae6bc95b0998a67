"""How many SMS segments a text costs: GSM-7 (160/153) or UCS-2 (70/67).

Every reply is billed (and delivered) per segment, and a citizen on a basic
phone sees a multipart message arrive in pieces, so reply templates are
checked against this counter in the tests. Pure functions only.
"""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: escape + char, two septets each.
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int


GSM7_ALL = GSM7_BASIC | GSM7_EXTENDED


def is_gsm7(text: str) -> bool:
    return GSM7_ALL.issuperset(text)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def count(text: str) -> Segments:
    """Segments ``text`` needs as one (possibly concatenated) SMS."""
    if is_gsm7(text):
        units = len(text) + sum(1 for ch in text if ch in GSM7_EXTENDED)
        single, part, encoding = GSM7_SINGLE, GSM7_PART, "GSM-7"
    else:
        units = _utf16_units(text)  # an emoji outside the BMP is two units
        single, part, encoding = UCS2_SINGLE, UCS2_PART, "UCS-2"
    if units <= single:
        return Segments(encoding, units, 1)
    return Segments(encoding, units, -(-units // part))


def parts(text: str) -> int:
    return count(text).parts


def fits(text: str, max_parts: int = 1) -> bool:
    return count(text).parts <= max_parts


def truncate(text: str, max_parts: int = 1, ellipsis: str = "...") -> str:
    """Cut ``text`` so it fits ``max_parts`` segments, marking the cut.

    Used as the last resort for catalog text an operator made too long; the
    templates themselves are sized so this rarely triggers.
    """
    if fits(text, max_parts):
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that still fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if fits(text[:mid].rstrip() + ellipsis, max_parts):
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ellipsis
