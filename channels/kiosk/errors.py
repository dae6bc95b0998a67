"""One exception root for the kiosk and portal, so callers catch ours only."""

from __future__ import annotations

from gateway.errors import SimpulError


class KioskError(SimpulError):
    """Root of every error the kiosk and portal raise on purpose."""


class AccountError(KioskError):
    """An officer account cannot be created or changed as asked."""
