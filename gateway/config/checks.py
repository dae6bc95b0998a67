"""Validators for ``Setting(check=...)``: each raises ``ValueError`` with a reason.

The loader calls a check after the type is right and reports its reason with
the setting's name, so a check never needs to name the key itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


def ip_networks(value: Iterable[str]) -> None:
    """Every element is an IPv4/IPv6 address or CIDR network ("10.0.0.0/8", "::1")."""
    for entry in value:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None

