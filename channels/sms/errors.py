"""One exception root for the SMS channel."""

from gateway.errors import SimpulError


class SmsError(SimpulError):
    """Root of every error the SMS channel raises on purpose (config, provider, files)."""
