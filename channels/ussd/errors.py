"""One exception root for the USSD channel."""

from __future__ import annotations

from gateway.errors import SimpulError


class UssdError(SimpulError):
    """Root of every error this package raises on purpose."""


class BadRequest(UssdError):
    """The aggregator's request lacks a field or carries an impossible value."""
