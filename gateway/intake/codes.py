"""Tracking codes: short, typeable on a keypad, read over the phone, self-checking.

Format: nine random Crockford base-32 symbols plus one check symbol, shown as
``XXXXX-XXXXX``. Crockford's alphabet drops I, L, O and U; on input O reads as
0 and I/L as 1, case and hyphens do not matter.

Nine random symbols carry 45 bits, a little less after the check filter below
(about 44.8), so codes drawn independently on thousands of nodes practically
never clash; the store still detects a clash and draws again.

The check: positions 1..10 get weights 1..10 and the weighted sum of all ten
symbol values must be 0 modulo 37. 37 is prime and larger than every weight
and every symbol difference, so a single wrong symbol changes the sum by
w*(a-b) != 0 (mod 37) and a swap of neighbours by (a-b) != 0: both are always
caught (plain Luhn mod N misses some swaps). The check value can be 32..36,
which has no symbol in the 32-letter alphabet; such draws are discarded, so a
code is always ten plain Crockford symbols.
"""

from __future__ import annotations

import secrets

from gateway.errors import SimpulError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
VALUES.update({"O": 0, "I": 1, "L": 1})
DATA_LEN = 9
LENGTH = DATA_LEN + 1
PRIME = 37
_INV10 = pow(LENGTH, -1, PRIME)


class CodeError(SimpulError, ValueError):
    """Base for a code that cannot be used as typed."""


class MalformedCode(CodeError):
    """Wrong length or characters outside the alphabet."""


class BadCheck(CodeError):
    """Well-formed but the check symbol does not match: a typo."""


def _check_value(data: list[int]) -> int:
    total = sum((i + 1) * v for i, v in enumerate(data))
    return (-total * _INV10) % PRIME


def format_code(symbols: str) -> str:
    return f"{symbols[:5]}-{symbols[5:]}"


def generate(randbits=secrets.randbits) -> str:
    """A fresh code in display form."""
    while True:
        raw = randbits(5 * DATA_LEN)
        data = [(raw >> (5 * i)) & 31 for i in range(DATA_LEN)]
        check = _check_value(data)
        if check < 32:
            return format_code("".join(ALPHABET[v] for v in data + [check]))


def normalize(text: str) -> str:
    """Canonical display form of a typed code, or raise CodeError.

    Raises MalformedCode when it cannot be a code at all, BadCheck when it is
    shaped like one but a symbol was mistyped or two were swapped.
    """
    cleaned = "".join(ch for ch in text.strip().upper() if ch not in "- ")
    if len(cleaned) != LENGTH or any(ch not in VALUES for ch in cleaned):
        raise MalformedCode(text)
    values = [VALUES[ch] for ch in cleaned]
    if sum((i + 1) * v for i, v in enumerate(values)) % PRIME != 0:
        raise BadCheck(text)
    return format_code("".join(ALPHABET[v] for v in values))


def looks_like_code(text: str) -> bool:
    """True if ``text`` has the shape of a code (check not verified)."""
    try:
        normalize(text)
    except BadCheck:
        return True
    except MalformedCode:
        return False
    return True
