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


class NoteTooLong(StatusError):
    """A note that would make the citizen's SMS longer than the segment limit.

    Checked where the note is typed (CLI, kiosk, regional web), never cut at
    send time; ``segments`` is the count the typist is shown.
    """

    def __init__(self, segments: int, limit: int):
        super().__init__(f"the SMS would take {segments} segments (at most {limit})")
        self.segments, self.limit = segments, limit
