"""Validators for ``Setting(check=...)``: each raises ``ValueError`` with a reason.

The loader calls a check after the type is right and reports its reason with
the setting's name, so a check never needs to name the key itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable


def ip_networks(value: Iterable[str]) -> None:
    """Every element is an IPv4/IPv6 address or CIDR network ("10.0.0.0/8", "::1")."""
    for entry in value:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None



def port(value: int) -> None:
    """A TCP port a process can bind; 0 would silently mean "any free port"."""
    if not 1 <= value <= 65535:
        raise ValueError(f"must be a port number from 1 to 65535, got {value}")


def timezone(value: str) -> None:
    """An IANA zone name zoneinfo knows; a typo would otherwise show UTC without a word."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone name such as 'Asia/Jakarta'") from None


def non_negative(value: int) -> None:
    if value < 0:
        raise ValueError(f"must be 0 or more, got {value}")


def at_least(low: int) -> Callable[[int], None]:
    def check(value: int) -> None:
        if value < low:
            raise ValueError(f"must be {low} or more, got {value}")
    return check


def one_of(choices: Iterable[str] | Callable[[], Iterable[str]]) -> Callable[[str], None]:
    """Value must be one of ``choices`` (case-insensitive); a callable (a registry) is asked each time."""
    def check(value: str) -> None:
        allowed = list(choices() if callable(choices) else choices)
        if value.strip().lower() not in allowed:
            raise ValueError(f"{value!r} is not one of " + ", ".join(repr(c) for c in allowed))
    return check
