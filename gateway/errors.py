"""One exception root for the gateway package, so callers can catch ours only."""


class SimpulError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(SimpulError):
    """A setting is unknown, mistyped or missing; start-up must stop."""


class CatalogError(SimpulError):
    """The service catalog is invalid; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


class StatusError(SimpulError):
    """A status change that the request lifecycle does not allow."""
