"""Service logging: one line per event on stderr, no tracebacks spread over lines.

journald (and any log collector) treats each line as an event, so a
traceback's twenty lines would become twenty events. An exception is kept as
its type and message on the same line. Callers log ids, counts and states,
never a phone number, name or message text (docs/security.md); this
formatter adds nothing personal either.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(levelname)s %(name)s: %(message)s"


class OneLineFormatter(logging.Formatter):
    def formatException(self, ei) -> str:  # noqa: ANN001, N802 - logging's signature
        exc = ei[1]
        return f"{type(exc).__name__}: {exc}" if exc is not None else ""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("\r", " ").replace("\n", " | ")


def setup(level: int = logging.INFO) -> None:
    """Log to stderr, one line per event (``simpul serve`` and ``simpul regional serve`` call it once)."""
    root = logging.getLogger()
    if any(getattr(h, "_simpul", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(FORMAT))
    handler._simpul = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("waitress.queue", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
